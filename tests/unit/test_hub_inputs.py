"""Inputs named by hub id or given as a downloaded hub repo are checked before any work (issue 30,
findings 4 and 7): a directory in the hub layout honours its configs (`subset`) and splits, and a
hub repo that cannot be had from this machine (offline, gated, a loading script, missing) is a
config problem naming its key, never a failure after stage 1 has trained."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from r1pipe.config.problems import ConfigError
from r1pipe.data import hub
from r1pipe.data.loading import load_cold_start
from r1pipe.pipeline.compose import compose_config
from r1pipe.pipeline.validate import config_problems, hub_problems, hub_repos, validate_config


def hub_layout_repo(root: Path) -> Path:
    """Two configs, as open-r1/Mixture-of-Thoughts has (math, code), declared in the card's YAML."""
    repo = root / "Mixture-of-Thoughts"
    for config, text in (("math", "What is 1 + 1?"), ("code", "Print hello.")):
        (repo / config).mkdir(parents=True)
        table = pa.table(
            {
                "messages": [[{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]],
                "num_tokens": [3],
                "source": [config],
            }
        )
        pq.write_table(table, repo / config / "train-00000-of-00001.parquet")
    configs = "".join(
        f"- config_name: {c}\n  data_files:\n  - split: train\n    path: {c}/train-*\n"
        for c in ("math", "code")
    )
    (repo / "README.md").write_text(f"---\nconfigs:\n{configs}---\n# stand-in\n", encoding="utf-8")
    return repo


def cold_start_overrides(repo: Path, *extra: str) -> list[str]:
    return [f"data.cold_start.path={repo}", *extra]


def test_a_hub_layout_directory_honours_subset(tmp_path):
    repo = hub_layout_repo(tmp_path)
    cfg = compose_config(cold_start_overrides(repo, "data.cold_start.subset=code"))
    assert load_cold_start(cfg.data)[0]["source"] == "code"
    cfg = compose_config(cold_start_overrides(repo, "data.cold_start.subset=math"))
    assert load_cold_start(cfg.data)[0]["source"] == "math"
    assert config_problems(cfg) == []


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        (["data.cold_start.subset=null"], "data.cold_start.subset", "Config name is missing"),
        (["data.cold_start.subset=science"], "data.cold_start.subset", "'science' not found"),
        (
            ["data.cold_start.subset=math", "data.cold_start.split=test"],
            "data.cold_start.split",
            "no split 'test'",
        ),
        (
            ["data.cold_start.subset=math", "data.cold_start.messages_column=conversation"],
            "data.cold_start.messages_column",
            "no column(s) ['conversation']",
        ),
    ],
)
def test_validate_looks_inside_a_hub_layout_directory(tmp_path, overrides, key, says):
    cfg = compose_config(cold_start_overrides(hub_layout_repo(tmp_path), *overrides))
    problems = [p for p in config_problems(cfg) if p.key == key]
    assert len(problems) == 1 and says in problems[0].message, config_problems(cfg)


def test_the_paper_preset_lists_every_hub_input():
    keys = {key for key, _, _ in hub_repos(compose_config(["experiment=r1_qwen2.5_1.5b"]))}
    assert {
        "data.cold_start.path",
        "data.rl_prompts.path",
        "data.general_prompts.path",
        "data.non_reasoning.path",
        "eval.suite.gpqa_diamond.path",
        "eval.suite.livecodebench.path",
        "model.name_or_path",
        "rejection.judge.model",
        "reward.models.helpful.model_dir",
    } <= keys
    assert hub_repos(compose_config([])) == []  # the toy fetches nothing


class FakeApi:
    """HfApi answering from a table: repo id -> info or the exception it raises."""

    answers: dict = {}

    def dataset_info(self, repo_id, timeout=None):
        answer = self.answers[repo_id]
        if isinstance(answer, Exception):
            raise answer
        return answer

    model_info = dataset_info


def hub_error(cls):
    """The hub's error without an HTTP response (its constructor reads the response's headers)."""
    error = cls.__new__(cls)
    Exception.__init__(error, cls.__name__)
    return error


def files(*names):
    return [SimpleNamespace(rfilename=n) for n in names]


HUB_CASES = [
    # (answer of the hub, what the problem says; None: usable)
    (SimpleNamespace(gated=False, siblings=files("README.md", "data/test-00000.parquet")), None),
    (
        SimpleNamespace(
            gated=False, siblings=files("README.md", "code_generation_lite.py", "test.jsonl.zip")
        ),
        None,
    ),
    (SimpleNamespace(gated=False, siblings=files("README.md", "code_generation_lite.py")), "loading script"),
    (SimpleNamespace(gated="auto", siblings=files("gpqa_diamond.csv")), "gated and you are not logged in"),
    (hub_error(GatedRepoError), "is gated"),
    (hub_error(RepositoryNotFoundError), "no dataset"),
    (OSError("[Errno -2] Name or service not known"), "cannot reach the Hugging Face Hub"),
]


@pytest.mark.parametrize(("answer", "says"), HUB_CASES)
def test_hub_repos_are_asked_before_work(monkeypatch, answer, says):
    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    FakeApi.answers = {"livecodebench/code_generation_lite": answer}
    why = hub.hub_repo_problem("livecodebench/code_generation_lite")
    assert (why is None) if says is None else (says in why), why


def test_offline_a_repo_outside_the_cache_is_a_problem_naming_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    cfg = compose_config(["experiment=r1_qwen2.5_1.5b"])
    problems = hub_problems(cfg)
    keys = {p.key for p in problems}
    assert {"eval.suite.livecodebench.path", "eval.suite.gpqa_diamond.path", "model.name_or_path"} <= keys
    gpqa = next(p for p in problems if p.key == "eval.suite.gpqa_diamond.path")
    assert "HF_HUB_OFFLINE" in gpqa.message and "eval.suite.gpqa_diamond.path=DIR" in gpqa.fix
    with pytest.raises(ConfigError, match="eval.suite.livecodebench.path"):
        validate_config(cfg)


def test_a_cached_repo_needs_no_network(monkeypatch):
    monkeypatch.setattr(hub, "in_local_cache", lambda repo_id, repo_type: True)
    monkeypatch.setattr("huggingface_hub.HfApi", None)  # any request would fail
    assert hub.hub_repo_problem("HuggingFaceH4/MATH-500") is None
