"""Stage 4 through the real CLI, started alone from the shipped toy base (`stage=all_scenario_rl
init_model=...`): toy reward models are built into the stage dir, general prompts are routed to
them and reasoning prompts to the rules, and the reward models only score in the last steps.

One run (2 GRPO steps, reward models in the last one) is shared by the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import QUICK_STEPS, r1pipe

pytestmark = pytest.mark.integration

MAX_STEPS, WINDOW = 2, 1
RULES = {"toy_accuracy", "r1_format", "language_consistency"}
JUDGES = {"helpful", "harmless"}


def stage4_args(run_dir: Path) -> list[str]:
    from r1pipe.toy.base_model import toy_base_dir

    return [
        "stage=all_scenario_rl",
        f"init_model={toy_base_dir()}",
        f"run_dir={run_dir}",
        *QUICK_STEPS,
        f"all_scenario_rl.max_steps={MAX_STEPS}",
        f"all_scenario_rl.preference_last_steps={WINDOW}",
        "all_scenario_rl.prompts_per_step=4",
        "all_scenario_rl.save_steps=1",
        "data.general_prompts.fraction=0.5",
        # both kinds in every step (the paper's mix; the toy's default gives a step one task): each
        # of the 2 steps, before and inside the judges' window, then carries reasoning and general rows
        "all_scenario_rl.steps_by_task=false",
    ]


@pytest.fixture(scope="module")
def stage_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("work")
    run_dir = work / "run"
    r1pipe("run", *stage4_args(run_dir), cwd=work)
    return run_dir / "04_all_scenario_rl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_stage_four_completes_from_the_given_model_and_hands_off(stage_dir: Path):
    from transformers import AutoModelForCausalLM

    from r1pipe.toy.base_model import toy_base_dir

    manifest = json.loads((stage_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["stage"] == "all_scenario_rl"
    assert manifest["inputs"]["model"] == str(toy_base_dir().resolve())
    metrics = manifest["metrics"]
    assert metrics["train/final_step"] == MAX_STEPS
    assert metrics["data/general_prompts"] == metrics["data/prompts"], "fraction 0.5"
    assert {"eval/before/heldout/pass@1", "eval/after/heldout/pass@1"} <= set(metrics)
    assert sorted(p.name for p in (stage_dir / "checkpoints").glob("step_*")) == [
        "step_000001",
        "step_000002",
    ]
    tuned = AutoModelForCausalLM.from_pretrained(stage_dir / "model")
    start = AutoModelForCausalLM.from_pretrained(toy_base_dir())
    assert any(not p.equal(q) for p, q in zip(tuned.parameters(), start.parameters(), strict=True))
    assert "temperature: 0.7" in (stage_dir / "config.yaml").read_text(), "the paper's stage-4 temperature"


def test_toy_reward_models_are_built_into_the_stage_dir_and_rank_pairs(stage_dir: Path):
    from r1pipe.rewards.reward_model import RewardModelScorer

    for judge in JUDGES:
        meta = json.loads((stage_dir / "reward_models" / judge / "toy_judge.json").read_text())
        assert meta["judge"] == judge and meta["heldout_accuracy"] >= 0.8
    helpful = RewardModelScorer(str(stage_dir / "reward_models" / "helpful"), target="summary", device="cpu")
    good, bad = helpful.score(
        [
            "<think>\nA greeting.\n</think>\n\nHello! How can I help you today?",
            "<think>\nA greeting.\n</think>\n\n",
        ],
        prompts=["Say hello.", "Say hello."],
    )
    assert good > bad


def test_each_sample_gets_the_rewards_of_its_task_and_judges_only_in_the_window(stage_dir: Path):
    rows = read_jsonl(stage_dir / "samples.jsonl")  # one completion per prompt, every step
    assert {r["step"] for r in rows} == set(range(MAX_STEPS))
    assert all(r["route"] == r["task"] for r in rows)
    reasoning = [r for r in rows if r["task"] == "toy"]
    general = [r for r in rows if r["task"] == "general"]
    assert reasoning and general
    for row in reasoning:  # rules only, always applied
        assert set(row["rewards"]) == RULES
        assert all(isinstance(v, float) for v in row["rewards"].values())
    before = [r for r in general if r["step"] < MAX_STEPS - WINDOW]
    inside = [r for r in general if r["step"] >= MAX_STEPS - WINDOW]
    assert before and inside
    for row in general:  # reward models, and the language rule (conf/reward/toy.yaml)
        assert set(row["rewards"]) == JUDGES | {"language_consistency"}
        assert isinstance(row["rewards"]["language_consistency"], float), "a rule applies at every step"
    for row in before:  # the judges not applied yet: the route is unscored (no advantage), rule or not
        assert {row["rewards"][j] for j in JUDGES} == {None} and row["reward"] is None
    for row in inside:
        assert all(isinstance(v, float) for v in row["rewards"].values())
        assert row["reward"] == pytest.approx(sum(row["rewards"].values()))


def test_reward_components_per_step_in_metrics(stage_dir: Path):
    steps = [r for r in read_jsonl(stage_dir / "metrics.jsonl") if "reward" in r]
    assert [r["step"] for r in steps] == list(range(1, MAX_STEPS + 1))
    for row in steps:
        assert {"rewards/routed/mean", "route/general/frac", "rewards/reflective_words/mean", "kl"} <= set(
            row
        )
        # Logged step s was scored at global_step s - 1: the window opens at logged step 2.
        judged = row["step"] > MAX_STEPS - WINDOW
        assert ("reward/helpful/mean" in row) is judged and ("reward/harmless/mean" in row) is judged
    assert any("reward/toy_accuracy/mean" in r for r in steps)
    log = (stage_dir.parent / "r1pipe.log").read_text()
    assert "All reward functions returned None" not in log, "the expected unscored rows are not warned about"
    assert "helpful applies from step 1 of 2" in log


def test_a_second_run_skips_the_complete_stage(stage_dir: Path, tmp_path: Path):
    proc = r1pipe("run", *stage4_args(stage_dir.parent), "--dry-run", cwd=tmp_path)
    assert "all_scenario_rl      skip    complete, fingerprint unchanged" in proc.stdout


@pytest.mark.faults
def test_interrupted_stage_four_resumes_with_the_judges_it_built(tmp_path: Path):
    from cli_helpers import kill_once_checkpointed

    run_dir = tmp_path / "run"
    args = [*stage4_args(run_dir), "all_scenario_rl.max_steps=4", "all_scenario_rl.preference_last_steps=2"]
    stage = run_dir / "04_all_scenario_rl"
    kill_once_checkpointed(args, tmp_path, stage / "checkpoints" / "step_000002")
    judge_files = {p: p.stat().st_mtime_ns for p in (stage / "reward_models").rglob("model.safetensors")}
    assert len(judge_files) == 2, "both judges were built before training"

    assert "all_scenario_rl      resume" in r1pipe("run", *args, "--dry-run", cwd=tmp_path).stdout
    r1pipe("run", *args, cwd=tmp_path)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["metrics"]["train/final_step"] == 4
    assert "resuming from" in (run_dir / "r1pipe.log").read_text()
    # The judges of the interrupted attempt score the rest of the run: reused, not retrained.
    assert {p: p.stat().st_mtime_ns for p in judge_files} == judge_files
    steps = [row["step"] for row in read_jsonl(stage / "metrics.jsonl") if "step" in row]
    assert max(steps) == 4


def test_stage_four_scores_with_a_served_judge(tmp_path: Path, serve_judge):
    """A judge too large for a training GPU runs on its own (`r1pipe serve-reward-model`) and stage 4
    points reward.models.helpful.url at it: the training side builds and loads no helpfulness
    judge, the server scores every general sample of the window, and the stage completes with
    the same reward columns as a local judge."""
    from r1pipe.toy.reward_models import build_toy_judges

    judge = build_toy_judges(["helpful"], tmp_path / "judges")["helpful"]  # the shipped weights + tokenizer
    server = serve_judge(judge, batch_size=32)
    url = server.url
    try:
        run_dir = tmp_path / "run"
        r1pipe(
            "run",
            *stage4_args(run_dir),
            f"reward.models.helpful.url={url}",
            "reward.models.helpful.model_dir=served-helpful",  # only a label: the server has the model
            "eval.after_stage=false",
            cwd=tmp_path,
        )
    finally:
        served_log = server.stop()
    stage = run_dir / "04_all_scenario_rl"
    assert json.loads((stage / "manifest.json").read_text())["status"] == "complete"
    built = sorted(p.name for p in (stage / "reward_models").iterdir() if p.is_dir())
    assert built == ["harmless"], "helpful is served"
    log = (run_dir / "r1pipe.log").read_text()
    assert f"reward model helpful is served at {url}" in log
    judged = [r for r in read_jsonl(stage / "samples.jsonl") if r["task"] == "general" and r["step"] >= 1]
    assert judged and all(isinstance(r["rewards"]["helpful"], float) for r in judged)
    assert "scored " in served_log and " responses in " in served_log
    assert [r["step"] for r in read_jsonl(stage / "metrics.jsonl") if "reward/helpful/mean" in r] == [2]


def test_steps_by_task_give_each_trained_step_one_task(tmp_path: Path):
    """The toy's default through the real CLI: every step's prompts (samples.jsonl logs one
    completion per prompt at every step here) are of one task, and both tasks get steps."""
    run_dir = tmp_path / "run"
    args = [*stage4_args(run_dir), "all_scenario_rl.steps_by_task=true", "all_scenario_rl.max_steps=6"]
    r1pipe("run", *args, cwd=tmp_path)
    rows = read_jsonl(run_dir / "04_all_scenario_rl" / "samples.jsonl")
    tasks_per_step: dict[int, set[str]] = {}
    for row in rows:
        tasks_per_step.setdefault(row["step"], set()).add(row["task"])
    assert sorted(tasks_per_step) == list(range(6))
    assert all(len(tasks) == 1 for tasks in tasks_per_step.values()), tasks_per_step
    assert len(set().union(*tasks_per_step.values())) > 1, tasks_per_step
    assert "of one task per step (steps_by_task)" in (run_dir / "r1pipe.log").read_text()
