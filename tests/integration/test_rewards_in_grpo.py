"""The reward library plugs straight into TRL's GRPOTrainer: guarded rewards built from config are
called with TRL's own kwargs (prompts, completion_ids, trainer_state, log_metric, dataset
columns), their per-component means and our failure counters appear in the trainer's logs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_grpo_trains_two_steps_with_config_built_rewards(tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from r1pipe.compose import compose_config
    from r1pipe.models import load_tokenizer
    from r1pipe.rewards.build import build_rewards
    from r1pipe.rewards.guard import shutdown_pools
    from r1pipe.toy.base_model import toy_base_dir
    from r1pipe.toy.task import sample_problems

    cfg = compose_config(
        [
            "reward.funcs=[toy_accuracy,r1_format,language_consistency]",
            "reward.weights=[1.0,1.0,1.0]",
            "reward.workers=1",
        ]
    )
    funcs, weights = build_rewards(cfg.reward, failure_log=tmp_path / "failures.jsonl")
    problems = sample_problems(8, digits=2, split="train", seed=0)
    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": p.prompt()}],
                "answer": str(p.answer),
                "language": p.language,
            }
            for p in problems
        ]
    )
    model = AutoModelForCausalLM.from_pretrained(toy_base_dir())
    tokenizer = load_tokenizer(str(toy_base_dir()), cfg.model)
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=24,
        reward_weights=weights,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        learning_rate=1e-4,
        use_cpu=True,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=funcs, args=args, train_dataset=dataset, processing_class=tokenizer
    )
    try:
        trainer.train()
    finally:
        shutdown_pools()
    logged = {k for entry in trainer.state.log_history for k in entry}
    for name in ("toy_accuracy", "r1_format", "language_consistency"):
        assert f"rewards/{name}/mean" in logged
    assert "reward/toy_accuracy/timeouts" in logged
    assert trainer.state.global_step == 2
