"""Per-sample reward routing: one GRPO batch mixes reasoning prompts and general prompts (stage 4).

R1_RECIPE.md, Rewards, stage 4: rule rewards judge reasoning prompts, reward models judge general
prompts. `RoutedReward` reads each sample's data type from a dataset column (default `task`:
math | code | toy | general), calls each reward function of that type's route once on the samples
of that type, and returns the weighted sum per sample.

None policy: if any component a sample received is None ("cannot judge"), the sample's total is
None. Skipping the component would score the rest as if it were the whole judgement: without
renormalising, "cannot judge" becomes "wrong" (0); with it, the other components are inflated to
stand in for the missing one (format alone earns full marks). TRL gives a None (NaN) reward an
advantage of 0 and leaves it out of its group's baseline, which is exactly "not judged". The
components are kept in `last_breakdown`, so the cause stays visible.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from r1pipe.rewards.registry import RewardFn, get_reward

log = logging.getLogger(__name__)

Route = list[tuple[RewardFn, float]]


def reward_name(fn: Callable[..., Any]) -> str:
    """The name TRL would log the function under (functions, partials, callable instances)."""
    while hasattr(fn, "func") and not hasattr(fn, "__name__"):  # functools.partial
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


def slice_columns(columns: Mapping[str, Any], idx: Sequence[int], n: int) -> dict[str, Any]:
    """Per-sample columns (lists of length n) restricted to idx; anything else passed as is."""
    return {k: [v[i] for i in idx] if isinstance(v, list) and len(v) == n else v for k, v in columns.items()}


def weighted_total(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Weighted sum, or None if any component could not judge (see the module's None policy)."""
    total = 0.0
    for name, value in values.items():
        if value is None or math.isnan(value):
            return None
        total += weights[name] * value
    return total


class RoutedReward:
    """A composite reward that gives each sample the reward set of its data type.

    After each call: `last_routes[i]` is sample i's route, `last_breakdown[i]` maps each reward it
    received to its raw (unweighted) value, `last_components[name]` lists that reward's values over
    the samples that received it, and `metrics()` gives `reward/<name>/mean` and `route/<task>/frac`.
    When TRL passes `log_metric`, those metrics are logged with it.
    """

    def __init__(
        self,
        routes: Mapping[str, Route],
        column: str = "task",
        default: str | None = None,
        name: str = "routed",
    ) -> None:
        if not routes:
            raise ValueError("RoutedReward needs at least one route")
        if default is not None and default not in routes:
            raise ValueError(f"default route {default!r} is not one of the routes: {sorted(routes)}")
        self.routes = {task: [(fn, float(w)) for fn, w in route] for task, route in routes.items()}
        self.column, self.default, self.__name__ = column, default, name
        self._check_names()
        self.last_routes: list[str] = []
        self.last_breakdown: list[dict[str, float | None]] = []
        self.last_components: dict[str, list[float | None]] = {}
        self._warned_missing = False

    def _check_names(self) -> None:
        # Breakdown and metrics are keyed by name, so one name must mean one function everywhere.
        seen: dict[str, Callable[..., Any]] = {}
        for task, route in self.routes.items():
            if not route:
                raise ValueError(f"route {task!r} has no reward functions")
            names = [reward_name(fn) for fn, _ in route]
            if len(set(names)) != len(names):
                raise ValueError(f"route {task!r} lists a reward twice: {names}")
            for fn, _ in route:
                if seen.setdefault(reward_name(fn), fn) is not fn:
                    raise ValueError(f"two different reward functions are named {reward_name(fn)!r}")

    def route_of(self, values: Sequence[Any]) -> list[str]:
        """Each sample's route; unknown values go to the default, or raise naming them."""
        unknown = sorted({repr(v) for v in values if v not in self.routes})
        if unknown and self.default is None:
            raise ValueError(
                f"no reward route for {self.column}={', '.join(unknown)}; "
                f"known routes: {sorted(self.routes)} (set a default route to catch the rest)"
            )
        return [v if v in self.routes else self.default for v in values]  # type: ignore[misc]

    def _task_values(self, columns: Mapping[str, Any], n: int) -> list[Any]:
        if self.column in columns:
            return list(columns[self.column])
        if self.default is None:
            raise ValueError(f"reward routing column {self.column!r} is missing; columns: {sorted(columns)}")
        if not self._warned_missing:  # once: this runs every training step
            self._warned_missing = True
            log.warning("routing column %r is missing: every sample gets route %r", self.column, self.default)
        return [None] * n

    def __call__(self, completions: list, **columns: Any) -> list[float | None]:
        n = len(completions)
        routes = self.route_of(self._task_values(columns, n))
        groups: dict[str, list[int]] = defaultdict(list)
        for i, task in enumerate(routes):
            groups[task].append(i)
        breakdown: list[dict[str, float | None]] = [{} for _ in range(n)]
        for task, idx in groups.items():
            sliced = slice_columns(columns, idx, n)
            for fn, _ in self.routes[task]:
                values = fn([completions[i] for i in idx], **sliced)
                if len(values) != len(idx):
                    raise ValueError(
                        f"reward {reward_name(fn)!r} returned {len(values)} values for {len(idx)} samples"
                    )
                for i, v in zip(idx, values, strict=True):
                    breakdown[i][reward_name(fn)] = None if v is None else float(v)
        self._record(routes, breakdown, columns.get("log_metric"))
        weights = {task: {reward_name(fn): w for fn, w in route} for task, route in self.routes.items()}
        return [weighted_total(b, weights[t]) for b, t in zip(breakdown, routes, strict=True)]

    def _record(self, routes: list[str], breakdown: list[dict[str, float | None]], log_metric: Any) -> None:
        self.last_routes, self.last_breakdown = routes, breakdown
        components: dict[str, list[float | None]] = defaultdict(list)
        for sample in breakdown:
            for name, value in sample.items():
                components[name].append(value)
        self.last_components = dict(components)
        if callable(log_metric):
            for key, value in self.metrics().items():
                log_metric(key, value)

    def metrics(self) -> dict[str, float]:
        """Mean of each reward over the samples that got it and could be judged; share of each route."""
        out: dict[str, float] = {}
        for name, values in self.last_components.items():
            judged = [v for v in values if v is not None and not math.isnan(v)]
            if judged:
                out[f"reward/{name}/mean"] = sum(judged) / len(judged)
        for task in self.routes:
            if self.last_routes:
                out[f"route/{task}/frac"] = self.last_routes.count(task) / len(self.last_routes)
        return out


def build_routed_reward(
    routes: Mapping[str, Mapping[str, float]],
    column: str = "task",
    default: str | None = None,
    extra: Mapping[str, RewardFn] | None = None,
    name: str = "routed",
) -> RoutedReward:
    """RoutedReward from config: `{task: {reward_name: weight}}`, names from `extra` (e.g. reward
    models built from config) first, then the registry."""
    extra = extra or {}

    def resolve(reward: str) -> RewardFn:
        return extra[reward] if reward in extra else get_reward(reward)

    return RoutedReward(
        {task: [(resolve(r), w) for r, w in route.items()] for task, route in routes.items()},
        column=column,
        default=default,
        name=name,
    )
