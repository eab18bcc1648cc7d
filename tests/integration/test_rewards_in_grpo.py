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

    from r1pipe.models.loading import load_tokenizer
    from r1pipe.pipeline.compose import compose_config
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


def varied(completions, **_):
    """A rule reward that differs between completions (so reasoning groups carry signal)."""
    return [float(c[0]["content"].count("1")) for c in completions]


def judge(completions, **_):
    return [1.0] * len(completions)


judge.__name__ = "helpful"


def test_general_prompts_before_the_preference_window_get_zero_advantage(tmp_path):
    """Stage 4's wiring in TRL's real GRPOTrainer: the gated reward model returns None, the routed
    total is None, and with the watchers riding on that one column (Watched) TRL finds the row
    unscorable: advantage exactly 0 and out of the logged reward, while reasoning rows train."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from r1pipe.models.loading import load_tokenizer
    from r1pipe.pipeline.compose import compose_config
    from r1pipe.rewards.gate import LastSteps
    from r1pipe.rewards.routing import RoutedReward
    from r1pipe.toy.base_model import toy_base_dir
    from r1pipe.training.watchers import ReflectionCounter, SampleLogger, Watched

    routed = RoutedReward({"toy": [(varied, 1.0)], "general": [(LastSteps(judge, 0), 1.0)]})  # 0: never
    reward = Watched(
        routed, ReflectionCounter(), SampleLogger(tmp_path / "samples.jsonl", every=1, n=8, stride=4)
    )
    prompts = ["What is 12 + 34?", "Say hello.", "Compute 40 + 51.", "Name a colour."]
    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": p}], "task": "general" if i % 2 else "toy"}
            for i, p in enumerate(prompts)
        ]
    )
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        max_steps=1,
        per_device_train_batch_size=16,
        num_generations=4,
        max_completion_length=16,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(toy_base_dir()),
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=load_tokenizer(str(toy_base_dir()), compose_config([]).model),
    )
    trainer.train()
    rows = list(zip(trainer._logs["prompt"], trainer._logs["advantages"], strict=True))
    general = [adv for prompt, adv in rows if prompt[-1]["content"] in ("Say hello.", "Name a colour.")]
    reasoning = [adv for prompt, adv in rows if "+" in prompt[-1]["content"]]
    assert len(general) == len(reasoning) == 8
    assert general == [0.0] * 8
    assert any(adv != 0.0 for adv in reasoning), "the reasoning groups still train"
    logged = trainer.state.log_history[0]
    assert logged["route/general/frac"] == 0.5 and "reward/helpful/mean" not in logged
    assert logged["reward"] == pytest.approx(logged["reward/varied/mean"]), "reward: reasoning rows only"
