"""Reward-model rewards: a sequence-classification model scores completions (stage 4, general prompts).

R1_RECIPE.md, Rewards: helpfulness is judged on the final summary only (the text after `</think>`),
harmlessness on the whole response, reasoning included. `RewardModelScorer(target="summary")` and
`(target="full")` are those two judges; `make_reward_model_reward` turns one into a reward function
with the registry's signature, named so TRL logs it as `rewards/<name>/mean`.

The model is any local Hugging Face directory that loads with
`AutoModelForSequenceClassification(num_labels=1)`; it is loaded on first use, so building the
reward in the driver costs nothing until the first batch is scored. By default each training
process loads it on its own GPU (`device: auto`); `device: all_gpus` spreads one larger than a GPU
over every GPU the process sees (accelerate's `device_map="auto"`), and `url` scores over HTTP on a
served copy instead (`r1pipe serve-reward-model`, r1pipe/rewards/reward_server.py), for a judge
that needs GPUs of its own, as verl, OpenRLHF and slime serve theirs.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any, Literal, get_args

from r1pipe.rewards.answers import completion_text

log = logging.getLogger(__name__)

Target = Literal["summary", "full"]
Normalize = Literal["none", "sigmoid", "batch_zscore"]
Dtype = Literal["auto", "float32", "bfloat16", "float16"]  # auto (or None): the checkpoint's own
ALL_GPUS = "all_gpus"  # device: spread the model over every visible GPU (device_map="auto")
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
    if device != "auto":  # cpu, cuda, cuda:N, all_gpus
        return device
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"


RETRIES = 3  # a served model (reward_server.py): connection attempts per request before the reward gives up (1, 2, 4 s apart)


class RewardServerError(RuntimeError):
    """The served reward model could not score a request; the message names the URL and the fix."""


def score_remotely(
    url: str, prompts: list[list[dict[str, str]]], responses: list[str], timeout_s: float
) -> list[float]:
    """Raw scores of (prompt messages, response) pairs from a served reward model."""
    body = json.dumps({"prompts": prompts, "responses": responses}).encode()
    request = urllib.request.Request(
        f"{url}/score", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    for attempt in range(RETRIES):
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                scores = json.loads(reply.read())["scores"]
            break
        except urllib.error.HTTPError as err:  # the server answered: retrying will not help
            detail = err.read().decode(errors="replace")[:500]
            raise RewardServerError(
                f"reward model server {url} refused the request ({err.code}): {detail}"
            ) from err
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            if attempt == RETRIES - 1:
                raise RewardServerError(
                    f"reward model server {url} is not reachable ({err}); start it with "
                    f"`r1pipe serve-reward-model MODEL_DIR --port PORT` on that host, or remove "
                    f"reward.models.<name>.url to load the model in each training process"
                ) from err
            time.sleep(2**attempt)
    if len(scores) != len(responses):
        raise RewardServerError(
            f"reward model server {url} returned {len(scores)} scores for {len(responses)} texts"
        )
    return [float(s) for s in scores]


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
        dtype: Dtype | None = None,
        url: str | None = None,
        request_timeout_s: float = 300.0,
    ) -> None:
        dtype = dtype or "auto"
        if dtype not in get_args(Dtype):
            raise ValueError(f"dtype must be one of {get_args(Dtype)}, got {dtype!r}")
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        if target not in get_args(Target):
            raise ValueError(f"target must be one of {get_args(Target)}, got {target!r}")
        if normalize not in get_args(Normalize):
            raise ValueError(f"normalize must be one of {get_args(Normalize)}, got {normalize!r}")
        if batch_size < 1 or max_length < 1:
            raise ValueError(f"batch_size and max_length must be >= 1, got {batch_size}, {max_length}")
        self.model_dir = str(model_dir)
        self.target, self.normalize = target, normalize
        self.batch_size, self.max_length = batch_size, max_length
        self.dtype, self.request_timeout_s = dtype, request_timeout_s
        self.url = str(url).rstrip("/") if url else None
        self.device = "remote" if self.url else resolve_device(device)
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

        if self.url:
            raise RuntimeError(f"{self.model_dir} is served at {self.url}; it is not loaded here")
        tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        if not tokenizer("Say hello.")[
            "input_ids"
        ]:  # a dir without tokenizer files loads one that reads nothing
            raise ValueError(
                f"{self.model_dir} has no usable tokenizer (it turns text into no tokens): save the "
                "reward model's tokenizer beside it (tokenizer.save_pretrained(MODEL_DIR))"
            )
        placement: dict[str, Any] = {"device_map": "auto"} if self.device == ALL_GPUS else {}
        model, info = AutoModelForSequenceClassification.from_pretrained(
            self.model_dir, num_labels=1, output_loading_info=True, dtype=self.dtype, **placement
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
        if self.device != ALL_GPUS:
            model = model.to(self.device)
        self._model, self._tokenizer = model.eval(), tokenizer
        log.info(
            "reward model %s loaded on %s (%s, target=%s)",
            self.model_dir,
            self.device,
            next(model.parameters()).dtype,
            self.target,
        )

    @property
    def input_device(self) -> Any:
        """Where the inputs go: the embedding's device (the first of several under all_gpus)."""
        return self._model.get_input_embeddings().weight.device

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
                logits = self._model(**{k: v.to(self.input_device) for k, v in batch.items()}).logits
                for i, score in zip(idx, logits[:, 0].float().cpu().tolist(), strict=True):
                    scores[i] = score
        return scores

    def responses(self, completions: list) -> list[str]:
        """What is judged of each completion: the summary, or the full response."""
        responses = [completion_text(c) for c in completions]
        return [summary_of(r) for r in responses] if self.target == "summary" else responses

    def score_pairs(self, prompts: list, responses: list[str]) -> list[float]:
        """Raw scores of (prompt, response) pairs with the local model (what a server runs)."""
        self.load()
        texts = [format_input(self._tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
        self._check_template_keeps_reasoning(responses, texts)
        return self.score_texts(texts)

    def score(self, completions: list, prompts: list | None = None) -> list[float]:
        """Normalised scores, one per completion; over HTTP when the model is served (`url`)."""
        if not completions:
            return []
        prompts = [None] * len(completions) if prompts is None else prompts
        responses = self.responses(completions)
        if self.url:
            messages = [prompt_messages(p) for p in prompts]
            raw = score_remotely(self.url, messages, responses, self.request_timeout_s)
        else:
            raw = self.score_pairs(prompts, responses)
        return normalize_scores(raw, self.normalize)

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
        where = self.scorer.url or self.scorer.model_dir
        return f"RewardModelReward({self.__name__!r}, {where!r}, target={self.scorer.target!r})"


def make_reward_model_reward(name: str, scorer: RewardModelScorer) -> RewardModelReward:
    """The reward function TRL and RoutedReward call, logged under `name`."""
    return RewardModelReward(name, scorer)
