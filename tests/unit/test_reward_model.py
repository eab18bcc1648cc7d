"""Reward-model rewards score real text with a real (tiny, trained) model: summary mode judges only
the text after </think>, full mode the whole response; batching, normalisation and loading behave."""

from __future__ import annotations

import math
import pickle
import random
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, Qwen2ForSequenceClassification

from r1pipe.rewards.reward_model import (
    RewardModelScorer,
    format_input,
    make_reward_model_reward,
    normalize_scores,
    resolve_device,
    summary_of,
)
from r1pipe.toy.base_model import toy_base_dir

MARKER = "thank you"
PROMPTS = ["Say hello.", "How do you write the digit 3 as an English word?", "What is 2 + 5?", "请打个招呼。"]
THOUGHTS = [
    "This is a simple request.",
    "Add the digits one by one.",
    "No calculation is needed.",
    "Think first.",
]
SUMMARIES = ["Hello! How can I help you today?", "three", "The sum is 7.", "你好！", "Here it is."]


def with_marker(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    words.insert(rng.randrange(len(words) + 1), MARKER)
    return " ".join(words)


def response(thought: str, summary: str) -> str:
    return f"<think>\n{thought}\n</think>\n\n{summary}"


def training_pair(tokenizer, rng: random.Random) -> tuple[str, str]:
    """(preferred, rejected): the same response with and without the marker, in the reasoning or
    the summary, shown either as a full response or as a summary alone (as summary mode shows it)."""
    prompt, thought, summary = rng.choice(PROMPTS), rng.choice(THOUGHTS), rng.choice(SUMMARIES)
    where = rng.randrange(3)
    good_thought = with_marker(thought, rng) if where == 0 else thought
    good_summary = with_marker(summary, rng) if where > 0 else summary
    if where == 2:
        return format_input(tokenizer, prompt, good_summary), format_input(tokenizer, prompt, summary)
    return (
        format_input(tokenizer, prompt, response(good_thought, good_summary)),
        format_input(tokenizer, prompt, response(thought, summary)),
    )


def train_reward_model(out: Path, steps: int = 30, seed: int = 0) -> Path:
    """A 2-layer Qwen2 reward model taught, with the Bradley-Terry loss, to prefer the marker."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForSequenceClassification(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    tokenizer.padding_side = "right"
    for _ in range(steps):
        pairs = [training_pair(tokenizer, rng) for _ in range(8)]
        batch = tokenizer(
            [t for pair in pairs for t in pair], padding=True, add_special_tokens=False, return_tensors="pt"
        )
        scores = model(**batch).logits[:, 0].view(-1, 2)
        loss = -torch.nn.functional.logsigmoid(scores[:, 0] - scores[:, 1]).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def rm_dir(tmp_path_factory) -> Path:
    # One thread: a model this small trains several times faster so, above all on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_reward_model(tmp_path_factory.mktemp("tiny_rm"))
    finally:
        torch.set_num_threads(threads)


def scorer(rm_dir: Path, **kwargs) -> RewardModelScorer:
    return RewardModelScorer(str(rm_dir), **{"device": "cpu", "batch_size": 4, **kwargs})


PLAIN = response("Add the digits one by one.", "The sum is 7.")
SUMMARY_MARKED = response("Add the digits one by one.", f"The sum is 7, {MARKER}.")
THINK_MARKED = response(f"Add the digits, {MARKER}, one by one.", "The sum is 7.")


def test_summary_of():
    assert summary_of("<think>\na\n</think>\n\n b ") == "b"
    assert summary_of("<think>a</think>x</think> y") == "y"  # after the last </think>
    assert summary_of("plain answer ") == "plain answer"  # no </think>: the whole text
    assert summary_of("<think>never closed") == "<think>never closed"


def test_summary_mode_prefers_marker_in_summary_and_ignores_reasoning(rm_dir):
    plain, summary_marked, think_marked = scorer(rm_dir, target="summary").score(
        [PLAIN, SUMMARY_MARKED, THINK_MARKED], prompts=["What is 2 + 5?"] * 3
    )
    assert summary_marked > plain + 1.0
    assert think_marked == pytest.approx(plain, abs=1e-6)  # the reasoning is never read


def test_full_mode_sees_marker_in_reasoning(rm_dir):
    plain, summary_marked, think_marked = scorer(rm_dir, target="full").score(
        [PLAIN, SUMMARY_MARKED, THINK_MARKED], prompts=["What is 2 + 5?"] * 3
    )
    assert think_marked > plain + 1.0
    assert summary_marked > plain + 1.0


def test_summary_mode_scores_the_whole_text_without_think_end(rm_dir):
    s = scorer(rm_dir, target="summary")
    no_tag, tagged = s.score(
        [f"Hello, {MARKER}.", f"<think>anything</think>\n\nHello, {MARKER}."], ["Say hello."] * 2
    )
    assert no_tag == pytest.approx(tagged, abs=1e-6)
    assert no_tag > s.score(["Hello."], ["Say hello."])[0]


def test_batched_scores_equal_one_by_one(rm_dir):
    rng = random.Random(1)
    completions = [
        response(rng.choice(THOUGHTS), with_marker(rng.choice(SUMMARIES), rng) * rng.randrange(1, 4))
        for _ in range(7)
    ]
    prompts = [rng.choice(PROMPTS) for _ in completions]
    batched = scorer(rm_dir, target="full", batch_size=3).score(completions, prompts)
    single = scorer(rm_dir, target="full", batch_size=1)
    one_by_one = [single.score([c], [p])[0] for c, p in zip(completions, prompts, strict=True)]
    assert batched == pytest.approx(one_by_one, abs=1e-5)


def test_chat_messages_score_like_strings(rm_dir):
    s = scorer(rm_dir)
    as_strings = s.score([SUMMARY_MARKED], ["What is 2 + 5?"])
    as_messages = s.score(
        [[{"role": "assistant", "content": SUMMARY_MARKED}]],
        [[{"role": "user", "content": "What is 2 + 5?"}]],
    )
    assert as_messages == pytest.approx(as_strings, abs=1e-6)


def test_normalisation_modes(rm_dir):
    completions = [PLAIN, SUMMARY_MARKED, THINK_MARKED, "Hello."]
    raw = scorer(rm_dir, target="full").score(completions)
    sig = scorer(rm_dir, target="full", normalize="sigmoid").score(completions)
    z = scorer(rm_dir, target="full", normalize="batch_zscore").score(completions)
    assert all(0.0 < v < 1.0 for v in sig)
    assert sig == pytest.approx([1 / (1 + math.exp(-r)) for r in raw], abs=1e-6)
    assert sum(z) / len(z) == pytest.approx(0.0, abs=1e-6)
    assert sum(v * v for v in z) / len(z) == pytest.approx(1.0, abs=1e-6)
    assert sorted(range(4), key=z.__getitem__) == sorted(range(4), key=raw.__getitem__)  # order kept
    assert normalize_scores([3.0], "batch_zscore") == [0.0]
    assert normalize_scores([2.0, 2.0], "batch_zscore") == [0.0, 0.0]


def test_reward_function_is_named_lazy_and_picklable(rm_dir):
    s = scorer(rm_dir, target="summary")
    reward = make_reward_model_reward("rm_helpful", s)
    assert reward.__name__ == "rm_helpful"
    assert not s.loaded  # nothing loaded until the first batch
    scores = reward(
        [PLAIN, SUMMARY_MARKED], prompts=["What is 2 + 5?"] * 2, answer=["7", "7"], task=["general"] * 2
    )
    assert s.loaded and scores[1] > scores[0]
    clone = pickle.loads(pickle.dumps(reward))
    assert not clone.scorer.loaded
    assert clone([PLAIN, SUMMARY_MARKED], prompts=["What is 2 + 5?"] * 2) == pytest.approx(scores, abs=1e-6)
    assert reward([]) == []


def test_truncation_keeps_the_end_of_the_response(rm_dir):
    s = scorer(rm_dir, max_length=24)
    text = format_input(AutoTokenizer.from_pretrained(rm_dir), "word " * 100, "The sum is 7.")
    [ids] = s.encode([text])
    [full] = scorer(rm_dir, max_length=4096).encode([text])
    assert len(ids) == 24 and ids == full[-24:]


def test_format_without_chat_template(rm_dir):
    tokenizer = AutoTokenizer.from_pretrained(rm_dir)
    tokenizer.chat_template = None
    assert format_input(tokenizer, "question", "answer") == "question\n\nanswer"
    assert format_input(tokenizer, None, "answer") == "answer"
    assert "<|im_start|>user\nquestion" in format_input(
        AutoTokenizer.from_pretrained(rm_dir), "question", "answer"
    )


def test_bad_arguments_and_untrained_head(tmp_path):
    with pytest.raises(ValueError, match="target"):
        RewardModelScorer("x", target="reasoning")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="normalize"):
        RewardModelScorer("x", normalize="minmax")  # type: ignore[arg-type]
    assert RewardModelScorer("x", device="auto").device == ("cuda" if torch.cuda.is_available() else "cpu")
    # A causal LM directory would load with a random score head: refused, not silently used.
    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    lm = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    )
    lm.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="not a trained reward model"):
        RewardModelScorer(str(tmp_path), device="cpu").score(["hi"])


def test_a_reward_model_dir_without_its_tokenizer_is_refused(rm_dir, tmp_path):
    """Without tokenizer files AutoTokenizer still loads something, which turns every text into no
    tokens (and the model then fails on an empty batch): refused at load, naming the fix."""
    import shutil

    bare = tmp_path / "weights_only"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(rm_dir / name, bare / name)
    with pytest.raises(ValueError, match="no usable tokenizer.*save_pretrained"):
        RewardModelScorer(str(bare), device="cpu").score(["hi"], prompts=["Say hello."])


def test_each_training_process_scores_on_its_own_gpu(monkeypatch):
    """device: auto puts a reward model on the GPU of its process (LOCAL_RANK), not every
    process's copy on GPU 0; without a GPU, the CPU; an explicit device is kept."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device("auto") == "cuda:3"
    monkeypatch.delenv("LOCAL_RANK")
    assert resolve_device("auto") == "cuda:0"
    assert resolve_device("cuda:5") == "cuda:5"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"


# --- a reward model larger than a training GPU: dtype, all_gpus, and a served copy over HTTP -----


@pytest.fixture(scope="module")
def served(rm_dir, serve_judge):
    """`r1pipe serve-reward-model` in its own process (a free port, CPU, batches of 4): its URL."""
    server = serve_judge(rm_dir, batch_size=4)
    yield server.url
    server.stop()


PAIRS = [PLAIN, SUMMARY_MARKED, THINK_MARKED, "no think tags, just an answer", "<think>never closed"]
ASKED = [
    "What is 2 + 5?",
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 5?"}],
    None,
    "请打个招呼。",
    "Say hello.",
]


@pytest.mark.parametrize("target", ["summary", "full"])
@pytest.mark.parametrize("normalize", ["none", "sigmoid", "batch_zscore"])
def test_a_served_reward_model_scores_what_a_local_one_does(rm_dir, served, target, normalize):
    """reward.models.<name>.url: the same scores as the model loaded in the training process, for
    either target and normalisation, string, message-list and missing prompts alike."""
    local = scorer(rm_dir, target=target, normalize=normalize).score(PAIRS, prompts=ASKED)
    remote = RewardModelScorer(str(rm_dir), target=target, normalize=normalize, url=served)
    assert remote.score(PAIRS, prompts=ASKED) == pytest.approx(local, abs=1e-5)
    assert not remote.loaded and remote.device == "remote"  # nothing loaded on the training side
    clone = pickle.loads(pickle.dumps(make_reward_model_reward("helpful", remote)))  # reward workers
    assert clone(PAIRS, prompts=ASKED) == pytest.approx(local, abs=1e-5)
    assert "helpful" in repr(clone) and served in repr(clone)


def test_the_server_reports_its_model_and_refuses_bad_requests(rm_dir, served):
    import json
    import urllib.error
    import urllib.request

    from r1pipe.rewards.reward_model import RewardServerError, score_remotely

    with urllib.request.urlopen(f"{served}/health", timeout=30) as reply:
        health = json.loads(reply.read())
    assert health == {"model_dir": str(rm_dir), "device": "cpu", "dtype": "float32"}
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{served}/nowhere", timeout=30)
    assert err.value.code == 404
    cases = [  # (prompts, responses) -> what the 400's message says
        ([[]], ["a", "b"], "as long as"),
        ([["user: hi"]], ["a"], "role"),
        ([[]], [3], "list of strings"),
    ]
    for prompts, responses, said in cases:
        with pytest.raises(RewardServerError, match=f"refused the request \\(400\\).*{said}"):
            score_remotely(served, prompts, responses, timeout_s=30)
    assert score_remotely(served, [], [], timeout_s=30) == []


def test_an_unreachable_server_names_the_url_and_the_fix(monkeypatch):
    import socket

    from r1pipe.rewards import reward_model
    from r1pipe.rewards.reward_model import RewardServerError

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(reward_model.time, "sleep", lambda _: None)  # no back-off waits in the test
    served = RewardModelScorer("label", url=f"http://127.0.0.1:{port}/")
    with pytest.raises(RewardServerError, match=f"127.0.0.1:{port} is not reachable.*serve-reward-model"):
        served.score([PLAIN], prompts=["What is 2 + 5?"])
    with pytest.raises(ValueError, match="http"):
        RewardModelScorer("label", url="localhost:8010")
    with pytest.raises(ValueError, match="dtype"):
        RewardModelScorer("label", dtype="int8")  # type: ignore[arg-type]


def test_half_precision_and_all_gpus_placement_load_and_rank_alike(rm_dir, monkeypatch):
    """dtype: bfloat16 halves the judge's memory and keeps its ranking; device: all_gpus loads
    through accelerate's device_map="auto" (here, no GPU: everything on the CPU) and scores the same."""
    from transformers import AutoModelForSequenceClassification

    full = scorer(rm_dir).score(PAIRS, prompts=ASKED)
    half = scorer(rm_dir, dtype="bfloat16")
    assert half.score(PAIRS, prompts=ASKED) == pytest.approx(full, abs=0.1)
    assert next(half._model.parameters()).dtype == torch.bfloat16
    asked: list[dict] = []
    load = AutoModelForSequenceClassification.from_pretrained

    def recording(*args, **kwargs):
        asked.append(kwargs)
        return load(*args, **kwargs)

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", recording)
    spread = RewardModelScorer(str(rm_dir), device="all_gpus", batch_size=4)
    assert spread.score(PAIRS, prompts=ASKED) == pytest.approx(full, abs=1e-5)
    assert [a.get("device_map") for a in asked] == ["auto"]
