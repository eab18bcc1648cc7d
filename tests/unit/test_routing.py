"""RoutedReward gives each sample the reward set of its task: rule rewards for toy/math rows, other
rewards for general rows, in one batch; columns are sliced per group; any None component makes
the sample's total None; unknown tasks fail loudly unless a default route catches them."""

from __future__ import annotations

import logging

import pytest

from r1pipe.rewards import completion_text, math_accuracy, toy_accuracy
from r1pipe.rewards.routing import RoutedReward, build_routed_reward, slice_columns


def politeness(completions: list, **_: object) -> list[float | None]:
    """The general-prompt reward of these tests: 1.0 when the answer says please."""
    return [1.0 if "please" in completion_text(c).lower() else 0.0 for c in completions]


def closes_think(completions: list, **_: object) -> list[float | None]:
    """A format-like reward shared by every route."""
    return [1.0 if "</think>" in completion_text(c) else 0.0 for c in completions]


class Recorder:
    """Records what each call received; scores 0.5."""

    def __init__(self, name: str) -> None:
        self.__name__ = name
        self.calls: list[tuple[list, dict]] = []

    def __call__(self, completions: list, **columns: object) -> list[float | None]:
        self.calls.append((list(completions), columns))
        return [0.5] * len(completions)


ROUTES = {
    "toy": [(toy_accuracy, 1.0), (closes_think, 0.5)],
    "math": [(math_accuracy, 2.0), (closes_think, 0.5)],
    "general": [(politeness, 1.0), (closes_think, 0.5)],
}
BATCH = {
    "completions": [
        "<think>8 + 4 = 12</think>\n\n\\boxed{12}",  # toy, right, closed think
        "Yes please.",  # general, polite, no think
        [{"role": "assistant", "content": "<think>half</think>\n\n\\boxed{\\frac{1}{2}}"}],  # math, right
        "\\boxed{13}",  # toy, wrong, no think
        "<think>x</think>\n\nNo.",  # general, impolite, closed think
    ],
    "task": ["toy", "general", "math", "toy", "general"],
    "answer": ["12", "", "0.5", "12", ""],
}


def test_mixed_batch_gets_each_sample_its_route():
    routed = RoutedReward(ROUTES)
    totals = routed(**BATCH)
    assert routed.last_routes == ["toy", "general", "math", "toy", "general"]
    assert routed.last_breakdown == [
        {"toy_accuracy": 1.0, "closes_think": 1.0},
        {"politeness": 1.0, "closes_think": 0.0},
        {"math_accuracy": 1.0, "closes_think": 1.0},
        {"toy_accuracy": 0.0, "closes_think": 0.0},
        {"politeness": 0.0, "closes_think": 1.0},
    ]
    assert totals == [1.5, 1.0, 2.5, 0.0, 0.5]
    assert routed.__name__ == "routed"


def test_metrics_are_logged_per_component():
    logged: dict[str, float] = {}
    routed = RoutedReward(ROUTES, name="stage4")
    routed(**BATCH, log_metric=logged.__setitem__)
    assert logged == routed.metrics()
    assert logged["reward/toy_accuracy/mean"] == 0.5
    assert logged["reward/math_accuracy/mean"] == 1.0
    assert logged["reward/politeness/mean"] == 0.5
    assert logged["reward/closes_think/mean"] == pytest.approx(3 / 5)
    assert logged["route/toy/frac"] == pytest.approx(2 / 5)
    assert routed.last_components["politeness"] == [1.0, 0.0]


def test_columns_are_sliced_per_group_and_each_reward_called_once():
    rule, general = Recorder("rule"), Recorder("general_rm")
    routed = RoutedReward({"toy": [(rule, 1.0)], "general": [(general, 1.0)]})
    state = object()
    routed(
        ["a", "b", "c"],
        prompts=["p0", "p1", "p2"],
        task=["general", "toy", "general"],
        completion_ids=[[0], [1], [2]],
        trainer_state=state,  # not a per-sample list: passed as is
        pair=["x", "y"],  # a list of another length: passed as is
    )
    [(completions, columns)] = general.calls
    assert completions == ["a", "c"]
    assert columns["prompts"] == ["p0", "p2"] and columns["task"] == ["general", "general"]
    assert columns["completion_ids"] == [[0], [2]]
    assert columns["trainer_state"] is state and columns["pair"] == ["x", "y"]
    assert len(rule.calls) == 1 and rule.calls[0][0] == ["b"]
    assert slice_columns({"a": [1, 2, 3], "b": 7}, [2], 3) == {"a": [3], "b": 7}


def test_none_component_makes_the_total_none():
    routed = RoutedReward(ROUTES)
    batch = {**BATCH, "answer": ["12", "", "", "12", ""]}  # math reference "" cannot be parsed
    totals = routed(**batch)
    assert routed.last_breakdown[2] == {"math_accuracy": None, "closes_think": 1.0}
    assert totals == [1.5, 1.0, None, 0.0, 0.5]  # only the unjudgeable sample is affected
    assert "reward/math_accuracy/mean" not in routed.metrics()  # no judged value to average


def test_unknown_task_raises_naming_value_column_and_routes():
    routed = RoutedReward(ROUTES)
    with pytest.raises(ValueError, match=r"task='poetry'.*known routes: \['general', 'math', 'toy'\]"):
        routed(["x", "y"], task=["toy", "poetry"], answer=["1", ""])


def test_default_route_catches_unknown_and_missing_tasks(caplog):
    routed = RoutedReward(ROUTES, default="general")
    assert routed(["please", "</think>\\boxed{1}"], task=["poetry", "toy"], answer=["", "1"]) == [1.0, 1.5]
    assert routed.last_routes == ["general", "toy"]
    with caplog.at_level(logging.WARNING, logger="r1pipe.rewards.routing"):
        assert routed(["please"], answer=[""]) == [1.0]  # no task column at all: everything to the default
        assert routed(["no"], answer=[""]) == [0.0]
    assert len(caplog.records) == 1  # warned once, not every step
    with pytest.raises(ValueError, match="column 'kind' is missing"):
        RoutedReward(ROUTES, column="kind")(["please"], task=["general"])


def test_custom_column():
    routed = RoutedReward({"chat": [(politeness, 2.0)]}, column="source")
    assert routed(["please", "no"], source=["chat", "chat"]) == [2.0, 0.0]


@pytest.mark.parametrize(
    ("routes", "kwargs", "message"),
    [
        ({}, {}, "at least one route"),
        ({"toy": [(toy_accuracy, 1.0)]}, {"default": "general"}, "default route 'general'"),
        ({"toy": []}, {}, "no reward functions"),
        ({"toy": [(toy_accuracy, 1.0), (toy_accuracy, 0.5)]}, {}, "twice"),
        ({"toy": [(Recorder("x"), 1.0)], "general": [(Recorder("x"), 1.0)]}, {}, "named 'x'"),
    ],
)
def test_bad_routes_are_refused(routes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RoutedReward(routes, **kwargs)


def test_wrong_length_from_a_reward_is_an_error():
    def broken(completions: list, **_: object) -> list[float | None]:
        return [1.0]

    with pytest.raises(ValueError, match="'broken' returned 1 values for 2 samples"):
        RoutedReward({"toy": [(broken, 1.0)]})(["a", "b"], task=["toy", "toy"])


def test_build_from_config_names():
    routed = build_routed_reward(
        {"toy": {"toy_accuracy": 1.0}, "general": {"politeness": 1.0}}, extra={"politeness": politeness}
    )
    assert routed(["</think>\\boxed{3}", "please"], task=["toy", "general"], answer=["3", ""]) == [1.0, 1.0]
    with pytest.raises(KeyError, match="no reward named 'missing'"):
        build_routed_reward({"toy": {"missing": 1.0}})
