"""The reward config becomes the functions TRL calls: reward.funcs/weights, reward models declared
in reward.models, and per-sample routing (reward.routing) for stage 4's mixed batches."""

from __future__ import annotations

import json

import pytest
from test_reward_model import train_reward_model  # the tiny trained reward model of that module

from r1pipe.pipeline.compose import compose_config
from r1pipe.pipeline.validate import config_problems
from r1pipe.rewards.build import build_accuracy, build_rewards, build_routed_reward
from r1pipe.rewards.guard import GuardedReward, shutdown_pools
from r1pipe.rewards.routing import RoutedReward

TOY_OK = "<think>\nOnes: 2 + 3 = 5.\n</think>\n\nThe sum is \\boxed{5}."
GENERAL = "<think>\nA greeting.\n</think>\n\nHello, thank you!"
# The shipped routes are merged into, not replaced, by a dict override: drop them first.
REPLACE_ROUTES = ["~reward.routing.routes.toy", "~reward.routing.routes.general"]


@pytest.fixture(scope="module", autouse=True)
def _stop_pools():
    yield
    shutdown_pools()


@pytest.fixture(scope="module")
def rm_dir(tmp_path_factory):
    return train_reward_model(tmp_path_factory.mktemp("rm") / "rm")


def test_default_rewards_are_guarded_and_weighted():
    cfg = compose_config(["reward.funcs=[toy_accuracy,r1_format]", "reward.weights=[1.0,0.5]"])
    funcs, weights = build_rewards(cfg.reward)
    assert [f.__name__ for f in funcs] == ["toy_accuracy", "r1_format"] and weights == [1.0, 0.5]
    assert all(isinstance(f, GuardedReward) for f in funcs)
    assert funcs[0]([TOY_OK, "no answer"], answer=["5", "5"]) == [1.0, 0.0]
    assert build_accuracy(cfg.reward)([TOY_OK], answer=["5"]) == [1.0]


def test_routing_sends_general_prompts_to_the_reward_model_and_reasoning_to_rules(rm_dir):
    cfg = compose_config(
        [
            f"+reward.models.rm_helpful={{model_dir:{rm_dir},target:summary}}",
            *REPLACE_ROUTES,
            "+reward.routing.routes.toy={toy_accuracy:1.0,r1_format:1.0}",
            "+reward.routing.routes.general={rm_helpful:1.0,r1_format:1.0}",
        ]
    )
    assert config_problems(cfg) == []
    routed = build_routed_reward(cfg.reward)
    assert isinstance(routed, RoutedReward)
    scores = routed([TOY_OK, GENERAL], answer=["5", ""], task=["toy", "general"], prompts=["2 + 3?", "Hi"])
    assert routed.last_routes == ["toy", "general"]
    assert set(routed.last_breakdown[0]) == {"toy_accuracy", "r1_format"}
    assert set(routed.last_breakdown[1]) == {"rm_helpful", "r1_format"}
    assert scores[0] == 2.0 and isinstance(scores[1], float)


def test_the_toy_routes_check_a_number_word_by_rule_and_judge_the_other_requests(rm_dir):
    """conf/reward/toy.yaml: a number-word request (task number_word, its one right word as the
    answer) earns general_match's 1 or 0, not the helpful judge's score, which paid any number word
    alike; a greeting (task general) is judged."""
    from r1pipe.toy.preferences import NUMBER_WORD_TASK, general_rows

    cfg = compose_config([f"reward.models.{m}.model_dir={rm_dir}" for m in ("helpful", "harmless")])
    word = next(r for r in general_rows(8, seed=1) if r["task"] == NUMBER_WORD_TASK)
    right = "<think>\nA number word.\n</think>\n\n" + json.loads(word["answer"])[0]
    wrong = "<think>\nA number word.\n</think>\n\n" + ("nine" if "nine" not in word["answer"] else "one")
    routed = build_routed_reward(cfg.reward)
    routed(
        [right, wrong, GENERAL],
        answer=[word["answer"], word["answer"], ""],
        task=[NUMBER_WORD_TASK, NUMBER_WORD_TASK, "general"],
        language=[word["language"], word["language"], "en"],
        prompts=[word["prompt"], word["prompt"], "Say hello."],
    )
    assert routed.last_routes == [NUMBER_WORD_TASK, NUMBER_WORD_TASK, "general"]
    assert [b["general_match"] for b in routed.last_breakdown[:2]] == [1.0, 0.0]
    assert "helpful" not in routed.last_breakdown[0] and "helpful" in routed.last_breakdown[2]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["+reward.routing.routes.toy.nope=1.0"], "reward.routing.routes.toy"),
        (["reward.routing.routes.toy.r1_format=high"], "reward.routing.routes.toy"),
        (
            [
                *REPLACE_ROUTES,
                "+reward.routing.routes.toy={toy_accuracy:1.0}",
                "reward.routing.default=general",
            ],
            "reward.routing.default",
        ),
        (["+reward.models.rm={model_dir:/no/such/dir}"], "reward.models.rm.model_dir"),
        (["+reward.models.rm={model_dir:/x,tgt:summary}"], "reward.models.rm.tgt"),
        (["reward.funcs=[rm_missing]"], "reward.funcs"),
    ],
)
def test_reward_config_problems(overrides, key):
    assert key in [p.key for p in config_problems(compose_config(overrides))]
