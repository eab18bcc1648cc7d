"""DAPO dynamic sampling for TRL's GRPOTrainer, which lacks it (TRL 1.16 only logs
`frac_reward_zero_std`).

A group whose completions all got the same reward has zero advantage: it costs a generation and a
backward pass and teaches nothing. With `dynamic_sampling=true` such groups are dropped and the
batch is refilled with fresh prompts, drawn from the training set, until it is full again (at
most `dynamic_sampling_max_rounds` generation rounds per step; if still short, dropped groups
fill the rest so the step keeps its size, and that share is logged). A refill round asks for
the missing groups scaled by the share dropped so far, not a whole batch.

Logged per step: `dynamic_sampling/dropped_fraction` (groups dropped / groups generated),
`dynamic_sampling/rounds` (generation rounds) and `dynamic_sampling/zero_signal_filled` (share of
the batch that had to be filled with dropped groups).

The pure pieces (which groups carry signal, choosing rows, joining padded batches) are functions
here, unit-tested as tables; the trainer subclass only drives the rounds.
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch
from trl import GRPOTrainer

from r1pipe.generation.cpu_threads import decode_threads

# Keys of TRL's `_generate_and_score_completions` output that dynamic sampling knows how to join:
# per-row tensors padded on the left (prompt side) or the right (completion side).
LEFT_PADDED = ("prompt_ids", "prompt_mask")
RIGHT_PADDED = (
    "completion_ids",
    "completion_mask",
    "old_per_token_logps",
    "sampling_per_token_logps",
    "ref_per_token_logps",
    "importance_sampling_ratio",  # vLLM rollouts: (rows, 1) per sequence or (rows, length) per token
)
PER_ROW = ("advantages",)
RECOMPUTED = ("num_items_in_batch",)


def informative_groups(rewards: torch.Tensor, group_size: int, atol: float = 1e-6) -> torch.Tensor:
    """One bool per group of `group_size` consecutive rows: True when its rewards differ.

    Unscorable rows (NaN) are ignored; a group with fewer than two scored rows has no signal."""
    grouped = rewards.view(-1, group_size)
    scored = ~torch.isnan(grouped)
    lo = torch.where(scored, grouped, torch.inf).min(dim=1).values
    hi = torch.where(scored, grouped, -torch.inf).max(dim=1).values
    return (scored.sum(dim=1) >= 2) & ((hi - lo) > atol)


def pad_to(tensor: torch.Tensor, length: int, value: float, side: str) -> torch.Tensor:
    """Pad the last dimension of a (rows, length) tensor to `length` on `side`."""
    missing = length - tensor.shape[1]
    if missing <= 0:
        return tensor
    fill = torch.full((tensor.shape[0], missing), value, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([fill, tensor] if side == "left" else [tensor, fill], dim=1)


def join_rows(parts: list[tuple[dict[str, Any], torch.Tensor]], pad_token_id: int) -> dict[str, Any]:
    """Concatenate the rows picked by each boolean mask from several generation outputs, padding
    prompt tensors on the left and completion tensors on the right to the longest part.
    `num_items_in_batch` is left to the caller (it is a count over all processes)."""
    unknown = {k for out, _ in parts for k in out} - {*LEFT_PADDED, *RIGHT_PADDED, *PER_ROW, *RECOMPUTED}
    if unknown:
        raise ValueError(
            f"dynamic sampling cannot join generation outputs with {sorted(unknown)} "
            "(multimodal or tool-calling batches); set dynamic_sampling=false for this stage"
        )
    joined: dict[str, Any] = {}
    for key in (*LEFT_PADDED, *RIGHT_PADDED, *PER_ROW):
        present = [(out[key], rows) for out, rows in parts if key in out]
        if not present:
            continue
        if len(present) != len(parts):
            raise ValueError(f"generation output {key!r} is present in some rounds only")
        if key in PER_ROW:
            joined[key] = torch.cat([t[rows] for t, rows in present])
            continue
        width = max(t.shape[1] for t, _ in present)
        side = "left" if key in LEFT_PADDED else "right"
        value = pad_token_id if key.endswith("_ids") else 0
        joined[key] = torch.cat([pad_to(t[rows], width, value, side) for t, rows in present])
    return joined


def choose_rows(keep: list[torch.Tensor], target: int) -> tuple[list[torch.Tensor], int]:
    """Per round, the rows to train on: informative rows first, in order, up to `target`; if there
    are too few, the earliest zero-signal rows fill the rest. Returns the masks and the fill count."""
    signal = [(r, i) for r, mask in enumerate(keep) for i in torch.nonzero(mask).flatten().tolist()]
    flat = [(r, i) for r, mask in enumerate(keep) for i in torch.nonzero(~mask).flatten().tolist()]
    chosen = [torch.zeros_like(mask) for mask in keep]
    for r, i in (signal + flat)[:target]:
        chosen[r][i] = True
    return chosen, max(0, target - len(signal))


class DynamicSamplingGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that drops zero-variance groups and refills the batch (DAPO)."""

    def __init__(
        self,
        *args: Any,
        dynamic_sampling: bool = False,
        max_rounds: int = 4,
        cpu_decode_threads: int = 0,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.group_size: int = self.num_generations  # type: ignore[assignment]  # set in train mode
        self.dynamic_sampling = dynamic_sampling
        self.max_rounds = max_rounds
        self.cpu_decode_threads = cpu_decode_threads  # generation.cpu_decode_threads
        self._last_rewards_per_func: torch.Tensor | None = None

    def _generate_single_turn(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        """TRL's rollout generation; with transformers on the CPU, decoded in
        `cpu_decode_threads` torch threads (generation/cpu_threads.decode_threads)."""
        threads = 0 if self.use_vllm else self.cpu_decode_threads
        with decode_threads(threads, self.accelerator.device.type):
            return super()._generate_single_turn(*args, **kwargs)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[override]
        # Kept so the round that produced them can tell informative groups from flat ones.
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):  # type: ignore[override]
        if not (self.dynamic_sampling and self.model.training):
            return super()._generate_and_score_completions(inputs)
        group = self.group_size
        if len(inputs) % group:
            raise ValueError(
                f"dynamic sampling needs whole groups on each process: {len(inputs)} completions per "
                f"process is not a multiple of num_generations={group}"
            )
        target = len(inputs)
        outputs, keeps = [], []
        generated_groups = dropped_groups = 0
        batch = inputs
        for round_index in range(self.max_rounds):
            out = super()._generate_and_score_completions(batch)
            outputs.append(out)
            all_groups = self._global_informative_groups()
            keeps.append(self._local_rows(all_groups, len(batch)))
            generated_groups += all_groups.numel()
            dropped_groups += int((~all_groups).sum())
            kept = sum(int(k.sum()) for k in keeps)
            refill = self._refill_size(kept, target, generated_groups, dropped_groups)
            if refill == 0 or round_index + 1 == self.max_rounds:
                break
            batch = self._refill_inputs(refill, round_index + 1)
        chosen, filled = choose_rows(keeps, target)
        joined = join_rows(list(zip(outputs, chosen, strict=True)), self._tokenizer.pad_token_id)
        joined["num_items_in_batch"] = self.accelerator.gather(joined["completion_mask"].sum()).sum()
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/dropped_fraction"].append(dropped_groups / max(1, generated_groups))
        metrics["dynamic_sampling/rounds"].append(float(len(outputs)))
        metrics["dynamic_sampling/zero_signal_filled"].append(filled / target)
        return joined

    def _global_informative_groups(self) -> torch.Tensor:
        assert self._last_rewards_per_func is not None
        weights = self.reward_weights.to(self._last_rewards_per_func.device)
        scored = self._last_rewards_per_func * weights.unsqueeze(0)
        rewards = scored.nansum(dim=1)
        rewards[torch.isnan(self._last_rewards_per_func).all(dim=1)] = torch.nan
        return informative_groups(rewards, self.group_size)

    def _local_rows(self, groups: torch.Tensor, local_rows: int) -> torch.Tensor:
        """This process's rows whose group carries signal (rewards are gathered over processes)."""
        per_row = groups.repeat_interleave(self.group_size)
        start = self.accelerator.process_index * local_rows
        return per_row[start : start + local_rows].cpu()

    def _refill_size(self, kept: int, target: int, generated_groups: int, dropped_groups: int) -> int:
        """Prompts for the next round: the groups still missing, scaled up by the share of groups
        dropped so far (at most a full batch). Every process must run the same rounds with the same
        batch size (generation and reward gathering are collective), so the neediest decides."""
        missing = -(-(target - kept) // self.group_size) if kept < target else 0
        keep_rate = max(0.25, 1 - dropped_groups / max(1, generated_groups))
        wanted = min(target // self.group_size, math.ceil(missing / keep_rate)) if missing else 0
        return int(self.accelerator.gather(torch.tensor([wanted], device=self.accelerator.device)).max())

    def _refill_inputs(self, prompts: int, round_index: int) -> list[dict[str, Any]]:
        """Fresh prompts from the training set, each repeated G times as TRL's sampler does.
        Seeded by step, round and process, so a resumed run draws the same refills."""
        rng = random.Random(
            f"{self.args.seed}-{self.state.global_step}-{round_index}-{self.accelerator.process_index}"
        )
        dataset = self.train_dataset
        picks = [rng.randrange(len(dataset)) for _ in range(prompts)]  # type: ignore[arg-type]
        return [dict(dataset[i]) for i in picks for _ in range(self.group_size)]  # type: ignore[index]
