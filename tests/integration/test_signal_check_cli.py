"""An RL stage whose rewards give no gradient stops over its first logged steps, with a checkpoint
and one message naming the reward, the column behind it and the fix (issue 30, point 3), rather
than training to its last step on no signal (stage 4 once trained 1,700 steps on None rewards).

`choice_accuracy` (a multiple-choice judge) on the toy's sums cannot judge any answer: the
reward a user picks for the wrong data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import r1pipe

from r1pipe.toy.base_model import toy_base_dir

pytestmark = pytest.mark.integration

STAGE_2 = [
    "stage=reasoning_rl",
    f"init_model={toy_base_dir()}",
    "reward.funcs=[choice_accuracy,r1_format]",
    "reward.weights=[1.0,1.0]",
    "reasoning_rl.max_steps=20",
    "reasoning_rl.prompts_per_step=2",
    "reasoning_rl.num_generations=4",
    "reasoning_rl.max_completion_length=16",
    "reasoning_rl.logging_steps=1",
    "reasoning_rl.save_steps=100",
    "reasoning_rl.signal_check_steps=3",
    "eval.after_stage=false",
]


def test_a_reward_that_cannot_judge_stops_the_stage_with_a_checkpoint(tmp_path: Path):
    run_dir = tmp_path / "run"
    proc = r1pipe("run", f"run_dir={run_dir}", *STAGE_2, cwd=tmp_path, check=False)
    assert proc.returncode != 0
    said = proc.stdout + proc.stderr
    assert "no learning signal, stopped after step 3 with a checkpoint" in said, said[-3000:]
    assert "reward choice_accuracy could not judge 100% of its samples" in said
    assert "reasoning_rl.signal_check_steps=0" in said
    assert "Traceback" not in said  # the message, once per process, not a traceback
    stage = run_dir / "02_reasoning_rl"
    assert (stage / "checkpoints" / "step_000003").is_dir()  # saved, not lost
    manifest = stage / "manifest.json"
    assert not manifest.exists() or json.loads(manifest.read_text())["status"] != "complete"
    steps = [json.loads(line)["step"] for line in (stage / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 3  # not the 20 asked for


def test_a_prompt_too_long_for_the_model_stops_the_stage_with_one_message(tmp_path: Path):
    """Issue 31, point 3: known only once the stage has the tokenizer, so said there, once,
    without a traceback (data.long_prompts=error, the default)."""
    prompts = tmp_path / "prompts.jsonl"
    rows = [
        {"prompt": "What is 1 + 1?", "answer": "2"},
        {"prompt": "What is " + "1 + " * 3000 + "1?", "answer": "3001"},
    ]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = tmp_path / "run"
    args = [a for a in STAGE_2 if not a.startswith("reward.")] + [f"data.rl_prompts.path={prompts}"]
    proc = r1pipe("run", f"run_dir={run_dir}", *args, cwd=tmp_path, check=False)
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "PromptTooLong" in said and "data.long_prompts" in said, said[-2000:]
    assert "Traceback" not in said


def test_gspo_sequence_level_ratios_train(tmp_path: Path):
    """importance_sampling_level=sequence (GSPO) with loss_type=grpo reaches TRL and trains."""
    run_dir = tmp_path / "run"
    args = [a for a in STAGE_2 if not a.startswith(("reward.", "reasoning_rl.max_steps"))]
    args += [
        "reasoning_rl.max_steps=2",
        "reasoning_rl.importance_sampling_level=sequence",
        "reasoning_rl.loss_type=grpo",
    ]
    r1pipe("run", f"run_dir={run_dir}", *args, cwd=tmp_path)
    stage = run_dir / "02_reasoning_rl"
    assert json.loads((stage / "manifest.json").read_text())["status"] == "complete"
    launched = (stage / "config.yaml").read_text()
    assert "importance_sampling_level: sequence" in launched
