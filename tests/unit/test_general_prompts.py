"""Stage 4's prompts: reasoning prompts plus general prompts at the configured share, on the columns
the rewards read, each row carrying the `task` its reward route is picked by."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch
from datasets import Dataset

from r1pipe.data.loading import DataError, general_count, load_general_prompts, load_problems, mix_prompts
from r1pipe.pipeline.compose import compose_config


@pytest.mark.parametrize(
    ("reasoning", "fraction", "general"),
    [(2000, 0.25, 667), (300, 0.25, 100), (100, 0.0, 0), (3, 0.5, 3), (10, 0.9, 90)],
)
def test_general_count_gives_the_share(reasoning, fraction, general):
    assert general_count(reasoning, fraction) == general


def test_toy_general_prompts():
    data = compose_config([]).data
    rows = load_general_prompts(data, 12)
    assert len(rows) == 12 and set(rows["task"]) == {"general", "number_word"}
    judged = [a for a, t in zip(rows["answer"], rows["task"], strict=True) if t == "general"]
    assert set(judged) == {""}, "judged requests carry no answer; number words carry theirs"
    assert set(rows["language"]) == {"en", "zh"}
    assert list(load_general_prompts(data, 12)["prompt"]) == list(rows["prompt"]), "deterministic"


def test_a_smaller_set_is_repeated_to_the_count():
    data = compose_config(["data.general_prompts.num_examples=3"]).data
    prompts = list(load_general_prompts(data, 7)["prompt"])
    assert prompts == (prompts[:3] * 3)[:7]


def test_general_prompts_from_a_file(tmp_path):
    path = tmp_path / "general.jsonl"
    path.write_text("\n".join(json.dumps({"request": f"Write a haiku {i}."}) for i in range(2)) + "\n")
    data = compose_config(
        [f"data.general_prompts.path={path}", "data.general_prompts.prompt_column=request"]
    ).data
    rows = load_general_prompts(data, 3)
    assert list(rows["prompt"]) == ["Write a haiku 0.", "Write a haiku 1.", "Write a haiku 0."]
    assert rows[0]["task"] == "general" and rows[0]["language"] is None
    bad = compose_config([f"data.general_prompts.path={path}"]).data
    with pytest.raises(DataError, match="data.general_prompts.prompt_column"):
        load_general_prompts(bad, 3)


def test_mix_keeps_every_prompt_shuffled_on_the_reward_columns():
    data = compose_config(["data.toy.rl_prompts=60"]).data
    reasoning = load_problems(data, "rl_prompts")
    mixed = mix_prompts(reasoning, load_general_prompts(data, general_count(60, 0.25)), seed=0)
    assert mixed.column_names == ["prompt", "answer", "language", "task"]
    assert Counter(mixed["task"]) == {"toy": 60, "general": 15, "number_word": 5}
    assert mixed["task"][:20] != ["toy"] * 20, "shuffled, so batches mix both kinds"
    assert list(mix_prompts(reasoning, load_general_prompts(data, 20), seed=0)["prompt"]) == list(
        mixed["prompt"]
    )


def test_mix_fills_missing_columns_so_the_default_route_takes_them():
    reasoning = Dataset.from_list([{"prompt": "1 + 1?", "answer": 2}])  # no task or language column
    mixed = mix_prompts(reasoning, Dataset.from_list([]), seed=0)
    assert mixed[0] == {"prompt": "1 + 1?", "answer": "2", "language": None, "task": None}


def grpo_args(section, tmp_path, seed: int = 0):
    """TRL's GRPOConfig as stage 4 builds it from `section` (one process)."""
    from r1pipe.run.context import StageContext
    from r1pipe.training.grpo import build_grpo_config

    ctx = StageContext(tmp_path, tmp_path / "04_all_scenario_rl", "all_scenario_rl", 4, "fp", {}, None)
    return build_grpo_config(section, ctx, seed, torch.float32, [1.0], 1)


def test_steps_by_task_give_every_step_prompts_of_one_task(tmp_path):
    """all_scenario_rl.steps_by_task: the prompts come in one-task runs of prompts_per_step, and
    TRL's sampler, told not to reshuffle, hands each step one run (checked with TRL's own sampler)."""
    from trl.trainer.grpo_trainer import RepeatSampler

    cfg = compose_config(["data.toy.rl_prompts=60", "all_scenario_rl.steps_by_task=true"])
    r = cfg.all_scenario_rl
    reasoning = load_problems(cfg.data, "rl_prompts")
    general = load_general_prompts(cfg.data, general_count(60, cfg.data.general_prompts.fraction))
    ordered = mix_prompts(reasoning, general, seed=3, task_run_length=r.prompts_per_step)
    assert Counter(ordered["task"]) == Counter(mix_prompts(reasoning, general, seed=3)["task"])
    assert list(ordered["prompt"]) == list(mix_prompts(reasoning, general, 3, r.prompts_per_step)["prompt"])

    args = grpo_args(r, tmp_path, seed=3)
    sampler = RepeatSampler(
        ordered,
        mini_repeat_count=args.num_generations,
        batch_size=args.generation_batch_size // args.num_generations,
        shuffle=args.shuffle_dataset,
        seed=args.seed,
    )
    indices = list(sampler)
    step = r.prompts_per_step * r.num_generations
    steps = [indices[i : i + step] for i in range(0, len(indices), step)]
    whole_runs = sum(n // r.prompts_per_step for n in Counter(ordered["task"]).values())
    step_tasks = [{ordered[i]["task"] for i in s} for s in steps[:whole_runs]]
    assert all(len(tasks) == 1 for tasks in step_tasks), step_tasks
    assert {t for tasks in step_tasks for t in tasks} == {"toy", "general", "number_word"}
    assert step_tasks[:6] != [step_tasks[0]] * 6, "the runs come in random order"


def test_without_steps_by_task_trl_reshuffles_and_steps_mix(tmp_path):
    cfg = compose_config(["all_scenario_rl=paper"])
    assert not cfg.all_scenario_rl.steps_by_task
    assert grpo_args(cfg.all_scenario_rl, tmp_path).shuffle_dataset
    assert grpo_args(cfg.reasoning_rl, tmp_path).shuffle_dataset
