"""The RL section reaches TRL's GRPOConfig: reward aggregation always, vLLM importance-sampling
correction with the vLLM generation modes (transformers generation has no vLLM log-probs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r1pipe.pipeline.compose import compose_config
from r1pipe.run.context import StageContext
from r1pipe.training.grpo import build_grpo_config, vllm_arguments


def grpo_config(overrides: list[str], tmp_path: Path):
    cfg = compose_config(overrides)
    ctx = StageContext(tmp_path, tmp_path / "02_reasoning_rl", "reasoning_rl", 2, "fp", {}, None)
    return build_grpo_config(cfg.reasoning_rl, ctx, 0, torch.float32, [1.0, 1.0, 1.0], 1)


def test_defaults_are_the_papers_sum_and_trls_importance_sampling(tmp_path):
    args = grpo_config([], tmp_path)
    assert args.multi_objective_aggregation == "sum_then_normalize"  # R1: weighted sum, then group norm
    assert not args.use_vllm


def test_normalize_then_sum_reaches_trl(tmp_path):
    args = grpo_config(["reasoning_rl.multi_objective_aggregation=normalize_then_sum"], tmp_path)
    assert args.multi_objective_aggregation == "normalize_then_sum"


@pytest.mark.parametrize("mode", ["vllm_colocate", "vllm_server"])
def test_importance_sampling_settings_go_with_vllm_rollouts(mode):
    cfg = compose_config(
        [
            f"reasoning_rl.generation={mode}",
            "reasoning_rl.vllm_importance_sampling_mode=token_truncate",
            "reasoning_rl.vllm_importance_sampling_clip_max=2.0",
            "reasoning_rl.vllm_importance_sampling_clip_min=0.5",
        ]
    )
    got = vllm_arguments(cfg.reasoning_rl)
    assert got["vllm_importance_sampling_correction"] is True
    assert (got["vllm_importance_sampling_mode"], got["vllm_importance_sampling_clip_max"]) == (
        "token_truncate",
        2.0,
    )
    assert got["vllm_importance_sampling_clip_min"] == 0.5
    assert "vllm_importance_sampling_mode" not in vllm_arguments(compose_config([]).reasoning_rl)


@pytest.mark.parametrize(
    "override",
    [
        "reasoning_rl.vllm_importance_sampling_mode=sometimes",
        "all_scenario_rl.multi_objective_aggregation=max",
        "reasoning_rl.sync_probe_every=-1",
        "reasoning_rl.sync_probe_prompts=0",
        "all_scenario_rl.sync_probe_tolerance=0",
        "reasoning_rl.temperature=-1",  # passed validation, then failed inside transformers
        "reasoning_rl.temperature=0",  # a group of identical greedy completions
        "all_scenario_rl.top_p=2",  # accepted silently, behaved as 1.0
    ],
)
def test_unknown_choices_name_the_key(override):
    from r1pipe.pipeline.validate import config_problems

    key = override.split("=")[0]
    assert key in [p.key for p in config_problems(compose_config([override]))]


@pytest.mark.parametrize("mode", ["vllm_colocate", "vllm_server"])
def test_vllm_rollouts_stop_on_the_end_of_turn_token(mode):
    """vLLM stops on the EOS saved with the model; r1pipe's tokenizer ends turns elsewhere."""
    got = vllm_arguments(compose_config([f"reasoning_rl.generation={mode}"]).reasoning_rl, stop_token_id=7)
    assert got["generation_kwargs"] == {"stop_token_ids": [7]}


@pytest.mark.parametrize(
    ("override", "dtype", "expected"),
    [
        ([], torch.float32, 1e-2),
        ([], torch.bfloat16, 0.5),
        (["reasoning_rl.sync_probe_tolerance=0.1"], torch.float32, 0.1),
    ],
)
def test_sync_probe_tolerance_follows_the_policy_dtype_unless_set(override, dtype, expected):
    from r1pipe.training.grpo import sync_probe

    probe = sync_probe(compose_config(override).reasoning_rl, "reasoning_rl", dtype)
    assert probe.tolerance == expected and probe.every == 10 and probe.key == "reasoning_rl"


def test_the_probe_runs_after_the_first_sync_of_a_process_and_every_n():
    from r1pipe.generation.vllm_rollouts import SyncProbe

    probe = SyncProbe("reasoning_rl", every=3, tolerance=1e-2, max_tokens=8, prompts=[[1, 2]])
    due = []
    for _ in range(7):
        probe.syncs += 1
        due.append(probe.due())
    assert due == [True, False, True, False, False, True, False]
    assert not SyncProbe("reasoning_rl", every=0, tolerance=1e-2, max_tokens=8, prompts=[[1]]).due()


# micro_batch_size: the step's completions in forward/backward passes of this size (TRL's
# per-device batch), one generation and one optimizer step per step as before.
MICRO_CASES = [
    # (overrides, per-device batch, accumulation steps, generation batch)
    ([], 8, 1, 8),  # the toy: 2 prompts x 4 at once
    (["reasoning_rl.micro_batch_size=2"], 2, 4, 8),
    (["reasoning_rl.micro_batch_size=8"], 8, 1, 8),
    (["experiment=r1_qwen2.5_1.5b"], 1, 512, 512),  # the paper's 32 x 16 on one process, one at a time
]


@pytest.mark.parametrize(("overrides", "micro", "accumulation", "generated"), MICRO_CASES)
def test_micro_batches_keep_one_generation_and_one_step(tmp_path, overrides, micro, accumulation, generated):
    extra = [] if overrides[:1] == ["experiment=r1_qwen2.5_1.5b"] else ["reasoning_rl.prompts_per_step=2"]
    args = grpo_config([*overrides, *extra, "reasoning_rl.generation=transformers"], tmp_path)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (micro, accumulation)
    assert args.generation_batch_size == generated and args.steps_per_generation == accumulation


def test_a_micro_batch_that_does_not_divide_the_step_is_refused(tmp_path):
    with pytest.raises(ValueError, match="micro_batch_size=3 does not divide the 8 completions"):
        grpo_config(["reasoning_rl.micro_batch_size=3", "reasoning_rl.prompts_per_step=2"], tmp_path)


def test_validate_refuses_a_micro_batch_that_does_not_divide_the_step():
    from r1pipe.pipeline.validate import config_problems

    problems = config_problems(compose_config(["reasoning_rl.micro_batch_size=3"]))
    assert [p.key for p in problems] == ["reasoning_rl.micro_batch_size"]
    assert config_problems(compose_config(["reasoning_rl.micro_batch_size=16"])) == []


# Sequence-level importance ratios (GSPO) as TRL's own option, one field on both RL stages.
@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ([], None),
        (["reasoning_rl.importance_sampling_level=sequence", "reasoning_rl.loss_type=grpo"], None),
        (["reasoning_rl.importance_sampling_level=sequence"], "reasoning_rl.importance_sampling_level"),
        (["all_scenario_rl.importance_sampling_level=sequence"], "all_scenario_rl.importance_sampling_level"),
        (["reasoning_rl.importance_sampling_level=sentence"], "reasoning_rl.importance_sampling_level"),
    ],
)
def test_sequence_level_ratios_go_with_the_grpo_loss(tmp_path, overrides, problem):
    from r1pipe.pipeline.validate import config_problems

    problems = config_problems(compose_config(overrides))
    assert [p.key for p in problems] == ([problem] if problem else [])
    if problem is None:
        args = grpo_config(overrides, tmp_path)
        assert args.importance_sampling_level == ("sequence" if overrides else "token")
