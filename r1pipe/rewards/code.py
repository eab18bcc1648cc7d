"""Code accuracy: run the Python program of the completion's final answer (after the last
</think>, answers.py; a program only inside the reasoning is never run) against test cases in the
sandbox.

Two forms of test case (R1_RECIPE.md, Rewards: compile and run against test cases):
- stdin/stdout: {"input": str, "output": str}; outputs compared after stripping trailing
  whitespace on every line and trailing blank lines.
- function call: {"fn_name": str, "args": [...], "expected": ...} (or a dataset-level fn_name
  column); the result, sent back as JSON, must == expected. A LeetCode-style
  `class Solution` with that method works too.
APPS/TACO-style specs ({"inputs": [...], "outputs": [...], "fn_name"?}) are accepted as well.

Each test runs in its own sandboxed process (r1pipe.rewards.sandbox), so one test's state or crash never
leaks into another and every test has its own time limit.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from r1pipe.rewards.answers import WithoutThinkEnd, completion_text, final_region
from r1pipe.rewards.registry import per_row, register
from r1pipe.rewards.sandbox import SandboxLimits, run_python

log = logging.getLogger(__name__)

Mode = Literal["fraction", "all"]

# Per-test limits of the code reward; reward.timeout_s (the guard's per-sample bound) must cover
# the sum over a sample's tests, or the guard stops the sample first.
DEFAULT_LIMITS = SandboxLimits(
    cpu_seconds=2.0,
    wall_seconds=4.0,
    memory_mb=512,
    max_processes=8,
    max_file_mb=16,
    max_open_files=64,
    max_output_bytes=1 << 20,
)

_MISSING = object()  # a missing or unreadable result: never == anything a test expects
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.S)
_PYTHON_TAGS = {"python", "py", "python3"}

# The program of a function-call test: reads its request from stdin (so nothing is pasted into
# source text), runs the solution under a name that skips `if __name__ == "__main__":` blocks,
# and prints the result after a per-run random marker, apart from anything the solution prints.
_HARNESS = r"""
import json, sys
req = json.loads(sys.stdin.read())
scope = {"__name__": "solution"}
exec(compile(req["code"], "solution.py", "exec"), scope)
fn = scope.get(req["fn_name"])
if fn is None and isinstance(scope.get("Solution"), type):
    fn = getattr(scope["Solution"](), req["fn_name"])
result = fn(*req["args"])
sys.stdout.write("\n" + req["marker"] + json.dumps(result) + "\n")
"""


def extract_code(text: str, without_think_end: WithoutThinkEnd = "no_answer") -> str | None:
    """The program of the final region (answers.final_region: after the last </think>): its last
    ```python block, else its last fenced block. A program only inside the reasoning is not the
    answer and is never run; None when the final region has no code."""
    region = final_region(text, without_think_end)
    if region is None:
        return None
    fenced = _FENCE.findall(region)
    blocks = [body for tag, body in fenced if tag.lower() in _PYTHON_TAGS] or [body for _, body in fenced]
    code = blocks[-1] if blocks else ""
    return code if code.strip() else None


def parse_tests(spec: Any) -> list[dict] | None:
    """A list of test dicts from a list, a JSON string, or an APPS-style dict; None if unusable."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError:
            return None
    if isinstance(spec, dict) and "inputs" in spec and "outputs" in spec:
        fn = spec.get("fn_name")
        pairs = zip(spec["inputs"], spec["outputs"], strict=False)
        spec = [
            {"fn_name": fn, "args": i, "expected": o} if fn else {"input": i, "output": o} for i, o in pairs
        ]
    if not isinstance(spec, list) or not spec or not all(isinstance(t, dict) for t in spec):
        return None
    return spec


def same_output(got: str, expected: str) -> bool:
    """Equal up to trailing whitespace on each line and trailing blank lines."""

    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.rstrip().splitlines()]

    return norm(got) == norm(expected)


def run_test(
    code: str, test: dict, fn_name: str | None, limits: SandboxLimits, allow_unsandboxed: bool = False
) -> tuple[bool | None, str]:
    """(passed, sandbox status); passed is None when the test case itself is malformed."""
    if "input" in test and "output" in test:
        result = run_python(code, _text(test["input"]), limits, allow_unsandboxed)
        return result.status == "ok" and same_output(result.stdout, _text(test["output"])), result.status
    name = test.get("fn_name") or fn_name
    if not name or "args" not in test or "expected" not in test:
        return None, "malformed"
    args = test["args"] if isinstance(test["args"], list) else [test["args"]]
    marker = f"@@r1pipe-result-{secrets.token_hex(8)}@@"
    request = json.dumps({"code": code, "fn_name": name, "args": args, "marker": marker})
    result = run_python(_HARNESS, request, limits, allow_unsandboxed)
    if result.status != "ok":
        return False, result.status
    return _returned(result.stdout, marker) == _json_roundtrip(test["expected"]), result.status


def score_solution(
    code: str | None,
    tests: list[dict],
    fn_name: str | None,
    mode: Mode,
    limits: SandboxLimits,
    allow_unsandboxed: bool = False,
) -> tuple[float | None, Counter]:
    """Fraction of tests passed, or 1.0/0.0 for all-or-nothing (stops at the first failure)."""
    statuses: Counter = Counter()
    if code is None or not _compiles(code):
        statuses["no_code" if code is None else "syntax_error"] += 1
        return 0.0, statuses
    passed = 0
    for test in tests:
        ok, status = run_test(code, test, fn_name, limits, allow_unsandboxed)
        statuses[status] += 1
        if ok is None:
            return None, statuses
        passed += ok
        if not ok and mode == "all":
            return 0.0, statuses
    return (passed / len(tests) if mode == "fraction" else 1.0), statuses


@register("code_accuracy")
def code_accuracy(
    completions: list,
    tests: list,
    fn_name: list | str | None = None,
    mode: Mode | list = "fraction",
    limits: SandboxLimits | dict | list | None = None,
    workers: int | None = None,
    without_think_end: WithoutThinkEnd = "no_answer",
    allow_unsandboxed: bool | list = False,
    **_: object,
) -> list[float | None]:
    """Score the program of each completion's final answer (extract_code) on its row's tests; None
    when the tests are unusable. Programs run only where the sandbox has its namespaces, unless
    allow_unsandboxed (reward.code.allow_unsandboxed): else SandboxUnavailable is raised.

    fn_name, mode and limits are one value for the batch or a list with one per row (the reward
    guard passes every keyword as a column of its batch of one).
    """
    n = len(completions)
    names, modes, scopes = per_row(fn_name, n), per_row(mode, n), per_row(without_think_end, n)
    unsandboxed = [bool(x) for x in per_row(allow_unsandboxed, n)]
    lims = [_limits(x) for x in per_row(limits, n)]
    for m in modes:
        if m not in ("fraction", "all"):
            raise ValueError(
                f"code_accuracy mode {m!r} is unknown (reward kwargs: mode); use 'fraction' or 'all'"
            )

    def one(i: int) -> tuple[float | None, Counter]:
        spec = parse_tests(tests[i])
        if spec is None:
            return None, Counter(unusable_tests=1)
        return score_solution(
            extract_code(completion_text(completions[i]), scopes[i]),
            spec,
            names[i],
            modes[i],
            lims[i],
            unsandboxed[i],
        )

    if n <= 1 or workers == 1:
        results = [one(i) for i in range(n)]
    else:
        with ThreadPoolExecutor(max_workers=min(n, workers or os.cpu_count() or 1)) as pool:
            results = list(pool.map(one, range(n)))
    log.debug("code_accuracy: %s", sum((c for _, c in results), Counter()))
    return [score for score, _ in results]


def _limits(value: SandboxLimits | dict | None) -> SandboxLimits:
    # a dict comes from config (reward kwargs); fields left out keep DEFAULT_LIMITS
    if isinstance(value, dict):
        return dataclasses.replace(DEFAULT_LIMITS, **value)
    return value or DEFAULT_LIMITS


def _compiles(code: str) -> bool:
    # compiling never runs the code; a syntax error scores 0 without a sandbox run per test
    try:
        compile(code, "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def _returned(stdout: str, marker: str) -> Any:
    lines = [line for line in stdout.splitlines() if line.startswith(marker)]
    if not lines:
        return _MISSING
    try:
        return json.loads(lines[-1][len(marker) :])
    except json.JSONDecodeError:
        return _MISSING


def _json_roundtrip(value: Any) -> Any:
    # the result crosses the process boundary as JSON: tuples become lists, so must `expected`
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def _text(value: Any) -> str:
    # TACO-style datasets sometimes store a test's input/output as a list of lines
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)
