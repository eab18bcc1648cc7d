"""`toy:<judge>` reward models: named in config, built once per stage dir by a child process with a
clean (non-distributed) environment, reused while their fingerprint holds, rebuilt when it does
not; copied from the machine's cache or the package where those hold current ones. Here the
child is faked but for one real, small training run (the stage-4 integration test copies the
shipped judges)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from r1pipe.pipeline.compose import compose_config
from r1pipe.toy import reward_models
from r1pipe.toy.reward_models import (
    META,
    build_toy_judges,
    judge_fingerprint,
    resolve_toy_reward_models,
    toy_judge,
)


@pytest.mark.parametrize(
    ("model_dir", "judge"),
    [("toy:helpful", "helpful"), ("toy:harmless", "harmless"), ("/models/rm", None), ("toy", None)],
)
def test_toy_judge_names(model_dir, judge):
    assert toy_judge(model_dir) == judge


def test_unknown_toy_judge_lists_the_known_ones():
    with pytest.raises(ValueError, match="toy:helpful, toy:harmless"):
        toy_judge("toy:polite")


def test_fingerprint_is_stable_and_per_judge():
    assert judge_fingerprint("helpful") == judge_fingerprint("helpful")
    assert judge_fingerprint("helpful") != judge_fingerprint("harmless")


def write_judge(root: Path, judge: str, fingerprint: str) -> None:
    (root / judge).mkdir(parents=True, exist_ok=True)
    (root / judge / META).write_text(json.dumps({"fingerprint": fingerprint, "heldout_accuracy": 0.9}))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> Path:
    """Each test its own judge cache (the session's shared one would hold other tests' judges)."""
    monkeypatch.setenv("R1PIPE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "toy_judges"


PACKAGED = reward_models.SHIPPED
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def shipped(tmp_path, monkeypatch) -> Path:
    """The package's judges replaced by an empty directory: each test says what ships."""
    monkeypatch.setattr(reward_models, "SHIPPED", tmp_path / "shipped")
    return tmp_path / "shipped"


@pytest.fixture
def child_runs(monkeypatch):
    """Fake child process: records its command and environment and writes current judges."""
    runs: list[dict] = []

    def fake_run(cmd, env, stdout, stderr):
        runs.append({"cmd": cmd, "env": env})
        root = Path(cmd[3])
        for judge in cmd[4:]:
            write_judge(root, judge, judge_fingerprint(judge))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(reward_models.subprocess, "run", fake_run)
    return runs


def test_missing_judges_are_built_in_a_child_outside_the_process_group(tmp_path, child_runs, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    paths = build_toy_judges(["helpful", "harmless"], tmp_path)
    assert paths == {"helpful": tmp_path / "helpful", "harmless": tmp_path / "harmless"}
    (run,) = child_runs
    assert run["cmd"][1:] == ["-m", "r1pipe.toy.reward_models", str(tmp_path), "helpful", "harmless"]
    assert not {"RANK", "WORLD_SIZE", "ACCELERATE_MIXED_PRECISION"} & set(run["env"])


def test_current_judges_are_reused_and_stale_ones_rebuilt(tmp_path, child_runs):
    write_judge(tmp_path, "helpful", judge_fingerprint("helpful"))  # current
    write_judge(tmp_path, "harmless", "0" * 16)  # built from other data or settings
    build_toy_judges(["helpful", "harmless"], tmp_path)
    assert [run["cmd"][4:] for run in child_runs] == [["harmless"]]
    build_toy_judges(["helpful", "harmless"], tmp_path)
    assert len(child_runs) == 1, "nothing left to build"


def test_a_failed_build_raises_with_its_log(tmp_path, monkeypatch):
    def failing_run(cmd, env, stdout, stderr):
        stdout.write("Traceback: out of memory\n")
        stdout.flush()
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(reward_models.subprocess, "run", failing_run)
    with pytest.raises(RuntimeError, match="out of memory"):
        build_toy_judges(["helpful"], tmp_path)


def test_resolve_points_used_toy_models_at_built_judges(tmp_path, child_runs, fake_model_dir):
    cfg = compose_config([f"+reward.models.mine={{model_dir:{fake_model_dir}}}"])
    resolved = resolve_toy_reward_models(cfg.reward, tmp_path, used={"helpful", "mine", "toy_accuracy"})
    assert resolved.models.helpful.model_dir == str(tmp_path / "helpful")
    assert resolved.models.harmless.model_dir == "toy:harmless", "not used by any route: not built"
    assert resolved.models.mine.model_dir == str(fake_model_dir)
    assert cfg.reward.models.helpful.model_dir == "toy:helpful", "the stage's config is left as it was"
    assert [run["cmd"][4:] for run in child_runs] == [["helpful"]]


def test_a_built_judge_is_cached_and_the_next_run_copies_it(tmp_path, child_runs, own_cache):
    build_toy_judges(["helpful"], tmp_path / "run1")
    cached = own_cache / judge_fingerprint("helpful")
    assert json.loads((cached / META).read_text())["fingerprint"] == judge_fingerprint("helpful")
    paths = build_toy_judges(["helpful"], tmp_path / "run2")
    assert len(child_runs) == 1, "the second run copied the cached judge instead of training"
    assert json.loads((paths["helpful"] / META).read_text())["fingerprint"] == judge_fingerprint("helpful")


def test_a_cached_judge_of_other_settings_is_not_used(tmp_path, child_runs, own_cache):
    write_judge(own_cache, judge_fingerprint("helpful"), "0" * 16)  # right name, wrong contents
    build_toy_judges(["helpful"], tmp_path / "run")
    assert [run["cmd"][4:] for run in child_runs] == [["helpful"]]


def test_the_cache_can_be_turned_off(tmp_path, child_runs, own_cache, monkeypatch):
    monkeypatch.setenv("R1PIPE_CACHE", "off")
    build_toy_judges(["helpful"], tmp_path / "run1")
    build_toy_judges(["helpful"], tmp_path / "run2")
    assert len(child_runs) == 2 and not own_cache.exists()


def test_an_unwritable_cache_only_costs_time(tmp_path, child_runs, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("R1PIPE_CACHE", str(blocker))
    assert build_toy_judges(["helpful"], tmp_path / "run")["helpful"].is_dir()


def test_two_runs_started_together_build_a_judge_once(tmp_path, child_runs, monkeypatch):
    """Both runs miss the cache at the same moment (the barrier holds each after its first look);
    the machine's build lock lets one train and the other copy what it cached."""
    barrier, first_look = threading.Barrier(2), threading.local()
    look_in_cache = reward_models.from_cache

    def from_cache_together(judges, root):
        missing = look_in_cache(judges, root)
        if not getattr(first_look, "done", False):
            first_look.done = True
            barrier.wait(timeout=60)
        return missing

    monkeypatch.setattr(reward_models, "from_cache", from_cache_together)
    runs = [
        threading.Thread(target=build_toy_judges, args=(["helpful"], tmp_path / f"run{i}")) for i in (1, 2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert len(child_runs) == 1, "the second run copied the first one's judge"
    assert all((tmp_path / f"run{i}" / "helpful" / META).is_file() for i in (1, 2))


def test_judges_train_in_float32_on_the_cpu(tmp_path):
    """TRL's RewardConfig defaults to bf16, which a CPU without bf16 units emulates: the two toy
    judges took 150 s instead of 25 s. The judge's trainer asks for float32 on the CPU."""
    args = reward_models.judge_trainer_args(reward_models.JudgeTraining(), tmp_path / "trainer")
    assert (args.bf16, args.fp16, args.use_cpu) == (False, False, True)


@pytest.mark.parametrize("judge", ["helpful", "harmless"])
def test_the_shipped_judges_are_current(judge):
    assert reward_models.is_current(PACKAGED / judge, judge), (
        f"r1pipe/assets/toy_judges/{judge} was built from other preference data, training settings or"
        " base model: rebuild it with `python scripts/build_toy_judges.py`"
    )


def test_a_fresh_machine_copies_the_shipped_judges_instead_of_training(tmp_path, child_runs, monkeypatch):
    monkeypatch.setattr(reward_models, "SHIPPED", PACKAGED)
    paths = build_toy_judges(["helpful", "harmless"], tmp_path / "run")
    assert child_runs == [], "nothing trained"
    for judge, path in paths.items():
        shipped = (PACKAGED / judge / "model.safetensors").read_bytes()
        assert (path / "model.safetensors").read_bytes() == shipped
        assert (path / "tokenizer.json").is_file(), "the toy base's tokenizer is added to the copy"
    assert sorted(p.name for p in (PACKAGED / "helpful").iterdir()) == sorted(reward_models.SHIPPED_FILES)


def test_a_shipped_judge_of_other_settings_is_not_used(tmp_path, child_runs, shipped):
    write_judge(shipped, "helpful", "0" * 16)  # built before the preference data changed
    build_toy_judges(["helpful"], tmp_path / "run")
    assert [run["cmd"][4:] for run in child_runs] == [["helpful"]]


def test_a_judge_trains_and_records_its_fingerprint_and_accuracy(tmp_path):
    """The real training path on a small budget (the shipped judges are built by the same call)."""
    training = reward_models.JudgeTraining(pairs=64, heldout_pairs=32, epochs=1)
    meta = reward_models.train_judge("harmless", tmp_path / "harmless", training)
    assert meta["fingerprint"] == judge_fingerprint("harmless", training)
    assert 0.0 <= meta["heldout_accuracy"] <= 1.0
    recorded = json.loads((tmp_path / "harmless" / META).read_text())
    assert recorded["fingerprint"] == meta["fingerprint"]
    assert (tmp_path / "harmless" / "model.safetensors").is_file()
    assert not (tmp_path / "harmless.tmp").exists()


def test_a_judge_build_is_deterministic(tmp_path):
    """The shipped judges can be rebuilt byte for byte (scripts/build_toy_judges.py): same pairs,
    seed and settings, same weights."""
    training = reward_models.JudgeTraining(pairs=64, heldout_pairs=32, epochs=1)
    for out in ("a", "b"):
        reward_models.train_judge("helpful", tmp_path / out / "helpful", training)
    weights = [(tmp_path / out / "helpful" / "model.safetensors").read_bytes() for out in ("a", "b")]
    assert weights[0] == weights[1]


def _judge_check():
    spec = importlib.util.spec_from_file_location("toy_judge_check", ROOT / "scripts" / "toy_judge_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_helpful_judge_ranks_a_good_answer_first_for_every_request(tmp_path):
    """GRPO moves towards a group's best-scored answer, so for every greeting, colour, sky and
    thanks request a good answer must outscore every wrong one the toy policies were seen to write
    (scripts/toy_judge_check.py). A shipped judge that put "蓝色。" above the greeting for
    "请向我问好。" (best is good 0.67 for greetings) let stage 4 answer every Chinese greeting with
    it. Number words are left out: no judge setting tried learns which word a digit is."""
    judge = tmp_path / "helpful"
    shutil.copytree(PACKAGED / "helpful", judge)
    reward_models.save_base_tokenizer(judge)
    ranked = _judge_check().ranking(judge)
    assert {kind: row["best_is_good"] for kind, row in ranked.items() if kind != "number_word"} == {
        "colour": 1.0,
        "greeting": 1.0,
        "sky": 1.0,
        "thanks": 1.0,
    }, {kind: row["worst"] for kind, row in ranked.items()}
