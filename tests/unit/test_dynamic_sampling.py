"""DAPO dynamic sampling: which groups carry signal, which rows a step trains on, and how rows of
several generation rounds (each padded to its own length) are joined."""

from __future__ import annotations

import math

import pytest
import torch

from r1pipe.training.dynamic_sampling import choose_rows, informative_groups, join_rows, pad_to

NAN = math.nan


@pytest.mark.parametrize(
    ("rewards", "group_size", "expected"),
    [
        ([1, 1, 1, 1], 4, [False]),  # all right: no signal
        ([0, 0, 0, 0], 4, [False]),  # all wrong: no signal
        ([1, 0, 1, 1], 4, [True]),
        ([1, 1, 0, 1, 2, 2, 2, 2], 4, [True, False]),
        ([2.5, 2.5, 2.5000001, 2.5], 4, [False]),  # float noise is not signal
        ([0.3, 0.1, 0.3, 0.3], 4, [True]),  # continuous rewards (reward models)
        ([1, NAN, 0, NAN], 4, [True]),  # unscorable rows are ignored
        ([1, NAN, NAN, NAN], 4, [False]),  # one scored row: no baseline
        ([NAN, NAN, NAN, NAN], 4, [False]),
        ([1, 0, 0, 0, 1, 1], 2, [True, False, False]),
    ],
)
def test_informative_groups(rewards, group_size, expected):
    got = informative_groups(torch.tensor(rewards, dtype=torch.float32), group_size)
    assert got.tolist() == expected


@pytest.mark.parametrize(
    ("keep", "target", "rows", "filled"),
    [
        # one round with enough signal: only informative rows, in order
        ([[1, 1, 0, 0, 1, 1]], 4, [[1, 1, 0, 0, 1, 1]], 0),
        # first round short, the refill round tops it up, surplus left out
        ([[0, 0, 1, 1], [1, 1, 1, 1]], 4, [[0, 0, 1, 1], [1, 1, 0, 0]], 0),
        # still short after the last round: zero-signal rows fill the step, earliest first
        ([[0, 0, 1, 1], [0, 0, 0, 0]], 4, [[1, 1, 1, 1], [0, 0, 0, 0]], 2),
        ([[0, 0], [0, 0]], 2, [[1, 1], [0, 0]], 2),
    ],
)
def test_choose_rows(keep, target, rows, filled):
    chosen, got_filled = choose_rows([torch.tensor(k, dtype=torch.bool) for k in keep], target)
    assert [c.int().tolist() for c in chosen] == rows
    assert got_filled == filled
    assert sum(int(c.sum()) for c in chosen) == target


@pytest.mark.parametrize(
    ("side", "expected"),
    [("left", [[9, 9, 1, 2]]), ("right", [[1, 2, 9, 9]])],
)
def test_pad_to(side, expected):
    assert pad_to(torch.tensor([[1, 2]]), 4, 9, side).tolist() == expected
    assert pad_to(torch.tensor([[1, 2]]), 2, 9, side).tolist() == [[1, 2]]  # already long enough


def _round(prompt_len: int, completion_len: int, rows: int, first: int) -> dict:
    """A generation output like TRL's: prompt side left-padded, completion side right-padded."""
    ids = torch.arange(first, first + rows).unsqueeze(1)
    return {
        "prompt_ids": ids.repeat(1, prompt_len),
        "prompt_mask": torch.ones(rows, prompt_len, dtype=torch.long),
        "completion_ids": ids.repeat(1, completion_len),
        "completion_mask": torch.ones(rows, completion_len, dtype=torch.long),
        "ref_per_token_logps": torch.full((rows, completion_len), -1.0),
        "advantages": ids.flatten().float(),
        "num_items_in_batch": torch.tensor(rows * completion_len),
    }


def test_join_rows_pads_each_side_to_the_longest_round():
    short, long = _round(2, 3, rows=2, first=10), _round(4, 5, rows=2, first=20)
    joined = join_rows(
        [(short, torch.tensor([False, True])), (long, torch.tensor([True, False]))], pad_token_id=0
    )
    assert joined["advantages"].tolist() == [11.0, 20.0]
    assert joined["prompt_ids"].tolist() == [[0, 0, 11, 11], [20, 20, 20, 20]]  # left-padded
    assert joined["prompt_mask"].tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]
    assert joined["completion_ids"].tolist() == [[11, 11, 11, 0, 0], [20] * 5]  # right-padded
    assert joined["completion_mask"].tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    assert joined["ref_per_token_logps"].tolist() == [[-1, -1, -1, 0, 0], [-1] * 5]
    assert "num_items_in_batch" not in joined  # the caller recounts it over processes


def test_join_rows_refuses_outputs_it_cannot_join():
    out = _round(2, 2, rows=1, first=0) | {"pixel_values": torch.zeros(1, 3)}
    with pytest.raises(ValueError, match="pixel_values.*dynamic_sampling=false"):
        join_rows([(out, torch.tensor([True]))], pad_token_id=0)


@pytest.mark.parametrize(
    ("prompts", "group", "processes", "dynamic", "expected"),
    [
        (4, 8, 1, False, 32),
        (4, 8, 2, False, 16),
        (3, 4, 2, False, 6),  # groups may straddle processes without dynamic sampling
        (4, 8, 2, True, 16),  # 2 whole groups per process
        (3, 4, 2, True, None),  # 1.5 groups per process: refused with dynamic sampling
        (3, 3, 2, False, None),  # 9 completions do not split over 2 processes
    ],
)
def test_completions_per_device(prompts, group, processes, dynamic, expected):
    from omegaconf import OmegaConf

    from r1pipe.training.grpo import completions_per_device

    r = OmegaConf.create({"prompts_per_step": prompts, "num_generations": group, "dynamic_sampling": dynamic})
    if expected is None:
        with pytest.raises(ValueError, match="all_scenario_rl.prompts_per_step"):
            completions_per_device(r, processes, "all_scenario_rl")
    else:
        assert completions_per_device(r, processes, "all_scenario_rl") == expected
