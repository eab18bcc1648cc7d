"""The synthetic hub stand-ins (tests/realscale/standin_data.py) load through `datasets.load_dataset`
as the hub repositories do: the same configs, splits, columns and Arrow types, no network, and
the same bytes on every build."""

from __future__ import annotations

import base64
import csv
import importlib.util
import json
import pickle
import re
import sys
import zlib
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from datasets import List, Value, load_dataset

STANDIN = Path(__file__).parents[1] / "realscale" / "standin_data.py"
TURNS = List({"content": Value("string"), "role": Value("string")})


def _standin_module() -> ModuleType:
    # tests/ is not a package, so the module is loaded from its path.
    spec = importlib.util.spec_from_file_location("standin_data", STANDIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("standin_data", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def standin() -> ModuleType:
    return _standin_module()


@pytest.fixture(scope="module")
def built(standin, tmp_path_factory) -> dict[str, Path]:
    return standin.build_standins(tmp_path_factory.mktemp("standins"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    # The loads' Arrow caches go to a temporary directory, not the user's ~/.cache.
    return str(tmp_path_factory.mktemp("hf-cache"))


def _boxed(text: str) -> str:
    return re.findall(r"\\boxed\{(.*)\}", text)[-1]


def test_build_returns_every_standin(built):
    assert set(built) == {
        "open-r1/Mixture-of-Thoughts",
        "open-r1/OpenR1-Math-220k",
        "HuggingFaceH4/MATH-500",
        "HuggingFaceH4/ultrafeedback_binarized",
        "HuggingFaceH4/ultrachat_200k",
        "HuggingFaceH4/aime_2024",
        "Idavidrein/gpqa",
        "gpqa_diamond.csv",
        "livecodebench.jsonl",
    }
    assert all(path.exists() for path in built.values())
    assert (built["open-r1/Mixture-of-Thoughts"] / "math" / "train-00000-of-00004.parquet").is_file()
    assert (built["HuggingFaceH4/MATH-500"] / "test.jsonl").is_file()


def test_mixture_of_thoughts_math(built, cache):
    ds = load_dataset(str(built["open-r1/Mixture-of-Thoughts"]), "math", split="train", cache_dir=cache)
    assert ds.column_names == ["messages", "num_tokens", "source"]
    assert ds.features["messages"] == TURNS
    assert ds.features["num_tokens"] == Value("int64") and ds.features["source"] == Value("string")
    assert len(ds) == 64
    answers = Counter()
    for messages in ds["messages"]:
        assert [m["role"] for m in messages] == ["user", "assistant"]
        reply = messages[1]["content"]
        assert reply.startswith("<think>\n") and "\n</think>\n\n" in reply
        answers[_boxed(reply)] += 1
    assert answers["2"] == answers["3"] == 30 and sum(answers.values()) == 64


def test_mixture_of_thoughts_other_configs(built, cache):
    repo = str(built["open-r1/Mixture-of-Thoughts"])
    sizes = {
        c: len(load_dataset(repo, c, split="train", cache_dir=cache)) for c in ("all", "code", "science")
    }
    assert sizes["code"] > 0 and sizes["science"] > 0
    assert sizes["all"] == sizes["code"] + sizes["science"] + 64


def test_mixture_of_thoughts_needs_a_config_as_on_the_hub(built, cache):
    with pytest.raises(ValueError, match="Config name is missing"):
        load_dataset(str(built["open-r1/Mixture-of-Thoughts"]), split="train", cache_dir=cache)


def test_openr1_math_default(built, cache):
    repo = str(built["open-r1/OpenR1-Math-220k"])
    ds = load_dataset(repo, "default", split="train", cache_dir=cache)
    assert ds.column_names == [
        "problem",
        "solution",
        "answer",
        "problem_type",
        "question_type",
        "source",
        "uuid",
        "is_reasoning_complete",
        "generations",
        "correctness_math_verify",
        "correctness_llama",
        "finish_reasons",
        "correctness_count",
        "messages",
    ]
    for column in ("is_reasoning_complete", "correctness_math_verify", "correctness_llama"):
        assert ds.features[column] == List(Value("bool"))
    assert ds.features["generations"] == ds.features["finish_reasons"] == List(Value("string"))
    assert ds.features["correctness_count"] == Value("int64") and ds.features["messages"] == TURNS
    answers = Counter(ds["answer"])
    assert answers["2"] >= 25 and answers["3"] >= 25 and len(ds) == 64
    text_answers = [a for a in answers if re.search(r"[a-z]{3,}", a) and "frac" not in a]
    assert len(text_answers) >= 2, "unparseable reference answers for the judge"
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", p)) for p in ds["problem"]) >= 3
    assert None in ds["correctness_llama"] and None in ds["finish_reasons"], "nullable lists"
    longest = max(len(g) for gens in ds["generations"] for g in gens)
    assert longest > 20_000, "some traces tens of KiB long"
    # Loading without a config picks `default`, as the hub does.
    assert len(load_dataset(repo, split="train", cache_dir=cache)) == len(ds)
    assert len(load_dataset(repo, "extended", split="train", cache_dir=cache)) > 0


def test_math500(built, cache):
    ds = load_dataset(str(built["HuggingFaceH4/MATH-500"]), split="test", cache_dir=cache)
    assert ds.column_names == ["problem", "solution", "answer", "subject", "level", "unique_id"]
    assert ds.features["level"] == Value("int64") and ds.features["answer"] == Value("string")
    answers = Counter(ds["answer"])
    assert answers["2"] + answers["3"] > len(ds) // 2
    assert all(re.fullmatch(r"test/[a-z_]+/\d+\.json", u) for u in ds["unique_id"])


def test_ultrafeedback(built, cache):
    repo = str(built["HuggingFaceH4/ultrafeedback_binarized"])
    ds = load_dataset(repo, split="train_prefs", cache_dir=cache)
    assert ds.column_names == [
        "prompt",
        "prompt_id",
        "chosen",
        "rejected",
        "messages",
        "score_chosen",
        "score_rejected",
    ]
    assert ds.features["chosen"] == ds.features["rejected"] == ds.features["messages"] == TURNS
    assert ds.features["score_chosen"] == ds.features["score_rejected"] == Value("float64")
    assert all(c > r for c, r in zip(ds["score_chosen"], ds["score_rejected"], strict=True))
    splits = load_dataset(repo, cache_dir=cache)
    assert set(splits) == {"train_prefs", "test_prefs", "train_sft", "test_sft", "train_gen", "test_gen"}


def test_ultrachat(built, cache):
    repo = str(built["HuggingFaceH4/ultrachat_200k"])
    ds = load_dataset(repo, split="train_sft", cache_dir=cache)
    assert ds.column_names == ["prompt", "prompt_id", "messages"] and ds.features["messages"] == TURNS
    assert all(
        m[0]["role"] == "user" and m[0]["content"] == p
        for p, m in zip(ds["prompt"], ds["messages"], strict=True)
    )
    assert set(load_dataset(repo, cache_dir=cache)) == {"train_sft", "test_sft", "train_gen", "test_gen"}


def test_aime(built, cache):
    ds = load_dataset(str(built["HuggingFaceH4/aime_2024"]), split="train", cache_dir=cache)
    assert ds.column_names == ["id", "problem", "solution", "answer", "url", "year"]
    assert ds.features["id"] == Value("int64")
    assert ds.features["answer"] == ds.features["year"] == Value("string")
    assert len(ds) == 30 and set(ds["year"]) == {"2024"}


def test_gpqa(standin, built, cache):
    with built["gpqa_diamond.csv"].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(standin.GPQA_COLUMNS)
    for column in ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 3", "Record ID"):
        assert all(row[column] for row in rows), column
    assert len({row["Record ID"] for row in rows}) == len(rows)
    ds = load_dataset(str(built["Idavidrein/gpqa"]), "gpqa_diamond", split="train", cache_dir=cache)
    assert len(ds) == len(rows) and "Pre-Revision Question" in ds.column_names


def test_livecodebench(built):
    rows = [json.loads(line) for line in built["livecodebench.jsonl"].read_text().splitlines()]
    assert list(rows[0]) == [
        "question_title",
        "question_content",
        "platform",
        "question_id",
        "contest_id",
        "contest_date",
        "starter_code",
        "difficulty",
        "public_test_cases",
        "private_test_cases",
        "metadata",
    ]
    for row in rows:
        public = json.loads(row["public_test_cases"])
        private = json.loads(pickle.loads(zlib.decompress(base64.b64decode(row["private_test_cases"]))))
        assert public and private
        kinds = {t["testtype"] for t in public + private}
        assert kinds in ({"stdin"}, {"functional"})
        if kinds == {"functional"}:
            assert json.loads(row["metadata"])["func_name"] in row["starter_code"]
    sums = [r for r in rows if r["question_title"] == "Sum of Two Integers"]
    for test in json.loads(sums[0]["public_test_cases"]):
        a, b = map(int, test["input"].split())
        assert test["output"] == f"{a + b}\n"


def test_same_bytes_every_build(standin, built, tmp_path):
    again = standin.build_standins(tmp_path)
    first = built["livecodebench.jsonl"].parent
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (tmp_path / f).read_bytes() for f in files)
    assert set(again) == set(built)
