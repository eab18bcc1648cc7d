"""Reward-model rewards: a sequence-classification model scores completions (stage 4, general prompts).

R1_RECIPE.md, Rewards: helpfulness is judged on the final summary only (the text after `</think>`),
harmlessness on the whole response, reasoning included. `RewardModelScorer(target="summary")` and
`(target="full")` are those two judges; `make_reward_model_reward` turns one into a reward function
with the registry's signature, named so TRL logs it as `rewards/<name>/mean`.

The model is any local Hugging Face directory that loads with
`AutoModelForSequenceClassification(num_labels=1)`; it is loaded on first use, so building the
reward in the driver costs nothing until the first batch is scored.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal, get_args

from r1pipe.rewards.answers import completion_text

log = logging.getLogger(__name__)

Target = Literal["summary", "full"]
Normalize = Literal["none", "sigmoid", "batch_zscore"]
THINK_END = "</think>"


def summary_of(text: str) -> str:
    """The text after the last `</think>`, stripped; the whole text when there is no `</think>`.

    Why the whole text rather than an empty summary or None: a completion without `</think>` is a
    plain answer, or one whose `<think>` was prefilled and never closed. An empty summary is an
    input the reward model never saw in training, so its score is arbitrary (and may be high); None
    would make the sample unscorable and so also cancel the format reward's penalty for the missing
    tag. The whole text is a response like any other, and the format reward penalises the tag.
    """
    return text.rsplit(THINK_END, 1)[1].strip() if THINK_END in text else text.strip()


def prompt_messages(prompt: Any) -> list[dict[str, str]]:
    """TRL passes conversational prompts as message lists; a plain string is the user's question."""
    if prompt is None:
        return []
    if isinstance(prompt, list):
        return [{"role": m["role"], "content": m.get("content", "")} for m in prompt]
    return [{"role": "user", "content": str(prompt)}]


def format_input(tokenizer: Any, prompt: Any, response: str) -> str:
    """What the reward model reads: its chat template, else prompt, a blank line, response."""
    messages = [*prompt_messages(prompt), {"role": "assistant", "content": response}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return "\n\n".join(m["content"] for m in messages)


def encode_inputs(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of formatted texts; templated text already has its special tokens. Training a judge
    (r1pipe.toy.reward_models) goes through this too, so it learns on exactly what it scores."""
    special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(texts, add_special_tokens=special, truncation=True, max_length=max_length)["input_ids"]


def normalize_scores(raw: list[float], mode: Normalize) -> list[float]:
    """sigmoid: squashed into (0, 1); batch_zscore: mean 0, std 1 over this call (all 0.0 if constant)."""
    if mode == "none" or not raw:
        return list(raw)
    import torch  # here, not at the top: the reward package loads in every reward worker

    values = torch.tensor(raw, dtype=torch.float64)
    if mode == "sigmoid":
        return torch.sigmoid(values).tolist()
    std = values.std(unbiased=False)
    if len(raw) < 2 or std < 1e-8:
        return [0.0] * len(raw)
    return ((values - values.mean()) / std).tolist()


def resolve_device(device: str) -> str:
    """`auto`: the GPU of this process (LOCAL_RANK under accelerate launch / torchrun, so that each
    training process scores its own samples on its own GPU, not all of them on GPU 0), else the CPU."""
    if device != "auto":
        return device
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"


class RewardModelScorer:
    """Scores (prompt, completion) pairs with a local reward model, batched and without gradients."""

    def __init__(
        self,
        model_dir: str,
        target: Target = "summary",
        batch_size: int = 8,
        device: str = "auto",
        normalize: Normalize = "none",
        max_length: int = 2048,
    ) -> None:
        if target not in get_args(Target):
            raise ValueError(f"target must be one of {get_args(Target)}, got {target!r}")
        if normalize not in get_args(Normalize):
            raise ValueError(f"normalize must be one of {get_args(Normalize)}, got {normalize!r}")
        if batch_size < 1 or max_length < 1:
            raise ValueError(f"batch_size and max_length must be >= 1, got {batch_size}, {max_length}")
        self.model_dir = str(model_dir)
        self.target, self.normalize = target, normalize
        self.batch_size, self.max_length = batch_size, max_length
        self.device = resolve_device(device)
        self._model: Any = None
        self._tokenizer: Any = None
        self._checked_template = False

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes reload the model themselves rather than receive a pickled copy.
        return {**self.__dict__, "_model": None, "_tokenizer": None}

    def load(self) -> None:
        """Load tokenizer and model once; refuse a directory whose score head would be random."""
        if self._model is not None:
            return
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            self.model_dir, num_labels=1, output_loading_info=True
        )
        fresh = [k for k in info.get("missing_keys", []) if k.startswith("score.")]
        if fresh:
            raise ValueError(f"{self.model_dir} is not a trained reward model: {fresh} would be random")
        # Right padding keeps positions equal to unpadded ones (batched == one by one); left
        # truncation keeps the end of the response, which is what gets judged.
        tokenizer.padding_side, tokenizer.truncation_side = "right", "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        # The model pools the last token that is not padding, so it must know the pad id used here.
        model.config.pad_token_id = tokenizer.pad_token_id
        self._model, self._tokenizer = model.to(self.device).eval(), tokenizer
        log.info("reward model %s loaded on %s (target=%s)", self.model_dir, self.device, self.target)

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids, truncated from the left to max_length."""
        self.load()
        return encode_inputs(self._tokenizer, texts, self.max_length)

    def score_texts(self, texts: list[str]) -> list[float]:
        """Raw scores of formatted texts, batched by similar length to keep padding small."""
        ids = self.encode(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        scores = [0.0] * len(ids)
        import torch

        with torch.no_grad():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self._tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
                logits = self._model(**{k: v.to(self.device) for k, v in batch.items()}).logits
                for i, score in zip(idx, logits[:, 0].float().cpu().tolist(), strict=True):
                    scores[i] = score
        return scores

    def texts(self, completions: list, prompts: list | None = None) -> list[str]:
        """What the model reads for each completion (summary or full response, with its prompt)."""
        self.load()
        prompts = [None] * len(completions) if prompts is None else prompts
        responses = [completion_text(c) for c in completions]
        if self.target == "summary":
            responses = [summary_of(r) for r in responses]
        texts = [format_input(self._tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
        self._check_template_keeps_reasoning(responses, texts)
        return texts

    def score(self, completions: list, prompts: list | None = None) -> list[float]:
        """Normalised scores, one per completion."""
        if not completions:
            return []
        return normalize_scores(self.score_texts(self.texts(completions, prompts)), self.normalize)

    def _check_template_keeps_reasoning(self, responses: list[str], texts: list[str]) -> None:
        # R1-style chat templates often strip `<think>` blocks from assistant turns; a "full" judge
        # would then silently see only the summary.
        if self.target != "full" or self._checked_template:
            return
        for response, text in zip(responses, texts, strict=True):
            if THINK_END in response:
                self._checked_template = True
                if response.strip() not in text:
                    log.warning(
                        "%s: the chat template alters the response; target=full may not see the reasoning",
                        self.model_dir,
                    )
                return


class RewardModelReward:
    """A reward function over a scorer: `(completions, prompts=None, **columns) -> list[float]`.

    A class rather than a closure so it pickles (for worker processes) and carries `__name__`,
    which TRL uses to name the reward in its logs.
    """

    def __init__(self, name: str, scorer: RewardModelScorer) -> None:
        self.__name__ = name
        self.scorer = scorer

    def __call__(self, completions: list, prompts: list | None = None, **_: object) -> list[float | None]:
        return list(self.scorer.score(completions, prompts))

    def __repr__(self) -> str:
        return (
            f"RewardModelReward({self.__name__!r}, {self.scorer.model_dir!r}, target={self.scorer.target!r})"
        )


def make_reward_model_reward(name: str, scorer: RewardModelScorer) -> RewardModelReward:
    """The reward function TRL and RoutedReward call, logged under `name`."""
    return RewardModelReward(name, scorer)
