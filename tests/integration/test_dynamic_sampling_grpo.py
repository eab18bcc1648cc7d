"""DAPO dynamic sampling inside TRL's GRPOTrainer, on the toy base model: groups whose rewards are
all equal are dropped and refilled from the training set, the fraction is logged, and when the
rounds run out the step is still full (filled with zero-signal groups, also logged)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def flat_or_alternating(completions, kind, **_):
    """'flat' prompts: every completion scores 1 (no signal). 'mixed': 0, 1, 0, 1 within each
    group of consecutive completions (always signal)."""
    return [1.0 if k == "flat" else float(i % 2) for i, k in enumerate(kind)]


def _train(tmp_path, kinds: list[str], max_rounds: int):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig

    from r1pipe.models.loading import load_tokenizer
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.toy.base_model import toy_base_dir
    from r1pipe.training.dynamic_sampling import DynamicSamplingGRPOTrainer

    rows = [
        {"prompt": [{"role": "user", "content": f"What is {i} + {i}?"}], "kind": k}
        for i, k in enumerate(kinds)
    ]
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        max_steps=2,
        per_device_train_batch_size=8,  # 2 prompts x G=4 per step
        num_generations=4,
        max_completion_length=8,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        learning_rate=1e-4,
        use_cpu=True,
        seed=0,
    )
    trainer = DynamicSamplingGRPOTrainer(
        dynamic_sampling=True,
        max_rounds=max_rounds,
        model=AutoModelForCausalLM.from_pretrained(toy_base_dir()),
        reward_funcs=[flat_or_alternating],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=load_tokenizer(str(toy_base_dir()), compose_config([]).model),
    )
    trainer.train()
    logged = [e for e in trainer.state.log_history if "dynamic_sampling/dropped_fraction" in e]
    return trainer, logged


def test_flat_groups_are_dropped_and_refilled(tmp_path):
    trainer, logged = _train(tmp_path, ["flat", "mixed"] * 8, max_rounds=20)
    assert trainer.state.global_step == 2
    assert len(logged) == 2
    assert any(e["dynamic_sampling/dropped_fraction"] > 0 for e in logged)
    assert all(e["dynamic_sampling/zero_signal_filled"] == 0 for e in logged)
    # The batch trained on holds only groups with signal: every advantage is non-zero.
    last = trainer._buffered_inputs[0]
    assert last["advantages"].shape[0] == 8
    assert bool((last["advantages"].abs() > 0.5).all())


def test_rounds_run_out_and_zero_signal_groups_fill_the_step(tmp_path):
    trainer, logged = _train(tmp_path, ["flat"] * 8, max_rounds=3)
    assert trainer.state.global_step == 2
    for entry in logged:
        assert entry["dynamic_sampling/dropped_fraction"] == 1.0
        assert entry["dynamic_sampling/rounds"] == 3.0
        assert entry["dynamic_sampling/zero_signal_filled"] == 1.0
    assert trainer._buffered_inputs[0]["advantages"].shape[0] == 8
