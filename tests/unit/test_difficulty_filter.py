"""The RL difficulty filter's arithmetic (r1pipe/rejection/difficulty.py) and its config: pass counts
from checked samples, the band, the histogram difficulty.json keeps, and the checks that refuse a
band that keeps nothing or an unknown accuracy reward."""

from __future__ import annotations

import pytest

from r1pipe.pipeline.compose import compose_config
from r1pipe.rejection.difficulty import difficulty_report, in_band, pass_counts, read_report, write_report


def checked(prompt_id: str, verdicts: str) -> list[dict]:
    """Samples of one prompt as steps.verify marks them: '' correct, else the reason it is not."""
    reasons = {"y": "", "n": "incorrect (rules)", "t": "truncated", "u": "unjudged"}
    return [{"prompt_id": prompt_id, "drop": reasons[v]} for v in verdicts]


def test_pass_counts_count_only_correct_samples_as_solved():
    records = checked("a", "yyyy") + checked("b", "ynty") + checked("c", "nnun") + checked("d", "tttt")
    assert pass_counts(records) == {"a": (4, 4), "b": (2, 4), "c": (0, 4), "d": (0, 4)}


@pytest.mark.parametrize(
    ("correct", "total", "low", "high", "kept"),
    [
        (0, 8, 0.1, 0.9, False),  # never solved: no gradient
        (8, 8, 0.1, 0.9, False),  # always solved: no gradient
        (1, 8, 0.1, 0.9, True),  # 0.125
        (7, 8, 0.1, 0.9, True),  # 0.875
        (1, 4, 0.25, 0.75, True),  # the ends are in the band
        (3, 4, 0.25, 0.75, True),
        (0, 4, 0.0, 1.0, True),  # the widest band keeps all
        (0, 0, 0.0, 1.0, False),  # no samples: no rate
    ],
)
def test_the_band_includes_its_ends(correct, total, low, high, kept):
    assert in_band(correct, total, low, high) is kept


def test_the_report_has_the_histogram_and_what_was_kept(tmp_path):
    counts = {"a": (0, 4), "b": (0, 4), "c": (1, 4), "d": (2, 4), "e": (4, 4)}
    report = difficulty_report(counts, 4, 0.25, 0.75)
    assert report["solved_histogram"] == [2, 1, 1, 0, 1]
    assert (report["candidates"], report["kept"]) == (5, 2)
    assert (report["never_solved"], report["always_solved"]) == (0.4, 0.2)
    assert report["band"] == [0.25, 0.75] and report["samples_per_prompt"] == 4
    write_report(report, tmp_path / "difficulty.json")
    assert read_report(tmp_path / "difficulty.json") == report
    (tmp_path / "torn.json").write_text('{"solved_hist')
    assert read_report(tmp_path / "torn.json") is None
    assert difficulty_report({}, 4, 0.1, 0.9)["kept"] == 0


def test_the_filter_is_off_by_default_and_samples_like_the_stage_unless_told():
    from stages.reasoning_rl import filter_sampling, filters_prompts

    cfg = compose_config([])
    assert not filters_prompts(cfg)
    sampling = filter_sampling(cfg)
    r = cfg.reasoning_rl
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (
        r.temperature,
        r.top_p,
        r.max_completion_length,
    )
    told = compose_config(
        [
            "reasoning_rl.difficulty_filter.enabled=true",
            "reasoning_rl.difficulty_filter.temperature=0.6",
            "reasoning_rl.difficulty_filter.max_tokens=64",
            "reasoning_rl.difficulty_filter.samples_per_prompt=16",
        ]
    )
    assert filters_prompts(told)
    sampling = filter_sampling(told)
    assert (sampling.temperature, sampling.max_tokens, sampling.samples_per_prompt) == (0.6, 64, 16)


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        (
            [
                "reasoning_rl.difficulty_filter.min_pass_rate=0.8",
                "reasoning_rl.difficulty_filter.max_pass_rate=0.2",
            ],
            "reasoning_rl.difficulty_filter.min_pass_rate",
            "no prompt could be kept",
        ),
        (["reasoning_rl.difficulty_filter.accuracy=nope"], "reasoning_rl.difficulty_filter.accuracy", "nope"),
    ],
)
def test_a_filter_that_cannot_work_is_refused_before_any_work(overrides, key, says):
    from stages.reasoning_rl import check

    cfg = compose_config(["reasoning_rl.difficulty_filter.enabled=true", *overrides])
    problems = [p for p in check(cfg) if p.key == key]
    assert problems and says in problems[0].message, check(cfg)
