"""pass@k, cons@k and the intervals against hand-computed tables."""

from __future__ import annotations

import math

import pytest

from r1pipe.evaluation.estimators import (
    bootstrap_interval,
    majority_vote,
    pass_at_k,
    problem_scores,
    standard_error,
    summarize,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 0, 1, 0.0),
        (4, 1, 1, 0.25),  # pass@1 is c / n
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (4, 4, 4, 1.0),
        (4, 1, 4, 1.0),  # any correct among all n: k = n is "solved at least once"
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (64, 0, 64, 0.0),
    ],
)
def test_pass_at_k_table(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, 1, 0), (4, 1, 5), (3, -1, 1)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError, match="pass_at_k needs"):
        pass_at_k(n, c, k)


def test_pass_at_k_is_stable_for_large_n():
    # C(1000, 500) overflows floats; the product form does not.
    assert pass_at_k(1000, 1, 500) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("answers", "winner"),
    [
        (["1", "2", "2"], 1),
        (["1", "2"], 0),  # a tie goes to the answer seen first
        (["a", "b", "b", "a"], 0),
        ([None, "3", None], 1),  # samples without an answer do not vote
        ([None, None], None),
        ([], None),
        ([None, "x", "y", "y"], 2),
    ],
)
def test_majority_vote_table(answers, winner):
    assert majority_vote(answers) == winner


def test_standard_error_hand_computed():
    # mean 0.5, sample variance (4 * 0.25) / 3 = 1/3, SE = sqrt(1/3) / sqrt(4)
    assert standard_error([1, 0, 1, 0]) == pytest.approx(math.sqrt(1 / 3) / 2)
    assert standard_error([0.25, 0.75]) == pytest.approx(0.25)  # std 0.3536 / sqrt 2
    assert standard_error([1.0]) is None


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [1.0, 0.0] * 50
    low, high = bootstrap_interval(values, resamples=2000, seed=3)
    assert low < 0.5 < high
    # about +-1.96 SE (SE = 0.05): the percentile interval is close to the normal one
    assert 0.07 < 0.5 - low < 0.13 and 0.07 < high - 0.5 < 0.13
    assert bootstrap_interval(values, resamples=2000, seed=3) == (low, high)
    assert bootstrap_interval([0.7] * 10) == pytest.approx((0.7, 0.7))
    assert bootstrap_interval([1.0]) is None
    assert bootstrap_interval(values, resamples=0) is None


def test_problem_scores_table():
    scores = [
        [1.0, 0.0, 0.0, 1.0],  # 2 of 4 correct; votes 5,3,3,5: tie, "5" first -> correct
        [0.0, 0.0, 1.0, 0.0],  # 1 of 4; majority "2" is wrong
        [None, None, None, None],  # nothing judged: left out
        [1.0, None, 1.0, 1.0],  # an unjudged sample is left out of its problem
    ]
    answers = [["5", "3", "3", "5"], ["2", "2", "7", None], ["1", "1", "1", "1"], ["9", None, "9", "9"]]
    scores.append([None, 1.0, 0.5, 0.0])  # the winner's own sample is unjudged; 0.5 is not correct
    answers.append(["4", "4", "5", "6"])
    out = problem_scores(scores, answers, k=4)
    assert out["pass@1"] == [0.5, 0.25, 1.0, pytest.approx(1 / 3)]
    # pass@4 only where 4 samples were judged: problems 4 and 5 (3 judged) have no pass@4
    assert out["pass@4"] == [1.0, 1.0]
    assert out["cons@4"] == [1.0, 0.0, 1.0, 1.0]  # "4" won, and a sample with "4" was correct


def test_pass_at_k_is_never_relabelled_from_fewer_judged_samples():
    """A problem with 3 judged samples has a pass@3, not a pass@4: computing pass@3 and calling it
    pass@4 would report a different estimator under the name (issue 12). It is left out of pass@4
    (and the summary says over how many problems pass@4 is: pass@4_problems)."""
    out = problem_scores([[1.0, 0.0, 0.0, None], [0.0, 0.0, 1.0, 0.0]], [["1"] * 4, ["2"] * 4], k=4)
    assert out["pass@1"] == [pytest.approx(1 / 3), 0.25]
    assert out["pass@4"] == [1.0]
    assert problem_scores([[1.0, None]], [["1", None]], k=2)["pass@2"] == []


def test_problem_scores_with_one_sample_has_no_separate_pass_at_k():
    out = problem_scores([[1.0], [0.0]], [["1"], ["2"]], k=1)
    assert out["pass@1"] == [1.0, 0.0]
    assert out["cons@1"] == [1.0, 0.0]


def test_summarize_gives_mean_se_and_interval():
    out = summarize("pass@1", [1.0, 0.0, 1.0, 0.0], resamples=500, seed=0)
    assert out["pass@1"] == 0.5
    assert out["pass@1_se"] == pytest.approx(0.2887, abs=1e-4)
    low, high = out["pass@1_ci95"]
    assert 0.0 <= low < 0.5 < high <= 1.0
    assert summarize("x", [0.4], resamples=100, seed=0) == {"x": 0.4, "x_se": None, "x_ci95": None}
