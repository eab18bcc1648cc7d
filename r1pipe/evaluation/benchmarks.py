"""Benchmarks: each entry of eval.suite loaded into one table the evaluation loop understands.

Every benchmark becomes rows of `id`, `prompt` (question + options/starter code + instruction),
`answer` and the columns its accuracy reward reads (`tests`, `fn_name` for code), plus the
registered reward that judges it and the key samples vote with for cons@k. The same loader reads a
local file (.jsonl/.json/.parquet/.csv) or a hub dataset (`datasets.load_dataset`, via
r1pipe.data.loading.load_table), so the tests' local files exercise the code a hub id runs.

Kinds:
- heldout          the run's data.heldout split (toy or a file), judged by reward.accuracy.
- math             MATH-500, AIME: math-verify equivalence (math_accuracy); vote on the answer.
- multiple_choice  GPQA: options lettered (GPQA's correct/incorrect columns are shuffled with a
                   per-problem seed), judged and voted on by the chosen letter (choice_accuracy).
- code             LiveCodeBench-style tests run in the sandbox, all must pass (code_accuracy);
                   no vote (programs have no canonical answer to count).
- general          requests with known good answers (path `toy`: the toy's held-out general
                   requests), judged by rules (general_match): the summary is one of the answers
                   and no forbidden (rude, unsafe) phrase appears anywhere; vote on the summary.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from r1pipe.config.problems import ConfigProblem
from r1pipe.config.schema import BENCHMARK_KINDS, BenchmarkConfig
from r1pipe.data.loading import check_local_dataset, load_heldout, load_table, require_columns
from r1pipe.rewards import REWARDS, extract_answer, extract_choice
from r1pipe.rewards.answers import WithoutThinkEnd, final_region
from r1pipe.rewards.general import plain_answer, string_list
from r1pipe.toy.preferences import general_benchmark_rows

if TYPE_CHECKING:
    from datasets import Dataset  # imported where rows are loaded: validation imports this module

KINDS = BENCHMARK_KINDS  # declared on BenchmarkConfig.kind
DEFAULT_REWARD = {
    "math": "math_accuracy",
    "multiple_choice": "choice_accuracy",
    "code": "code_accuracy",
    "general": "general_match",
}
LETTERS = "ABCDEFGHIJ"


class BenchmarkError(Exception):
    """A benchmark is unknown or its data has the wrong shape; the message names the key and fix."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    kind: str
    problems: Dataset  # id, prompt, answer (+ tests, fn_name for code; language when the data has it)
    reward: str  # registered accuracy reward
    reward_kwargs: dict[str, Any]  # constant keyword arguments of the reward (code: mode=all)
    k: int  # samples per problem
    max_new_tokens: int
    without_think_end: WithoutThinkEnd = "no_answer"  # reward.without_think_end (answers.py)

    def vote_key(self, completion: str) -> Hashable | None:
        """What samples vote with for cons@k: the final answer, as the reward reads it (None: no
        vote; code benchmarks never vote)."""
        return VOTE_KEYS[self.kind](completion, self.without_think_end)


def normalized_answer(completion: str, without_think_end: WithoutThinkEnd = "no_answer") -> str | None:
    """The final answer with spacing and LaTeX sizing removed, so `\\dfrac{1}{2}` and
    `\\frac{1}{2} ` vote together. String equality, not math-verify: voting compares every pair
    of k samples, and a string key keeps that linear."""
    answer = extract_answer(completion, without_think_end)
    if answer is None:
        return None
    for old, new in (
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
    ):
        answer = answer.replace(old, new)
    answer = re.sub(r"\s+|\$", "", answer).rstrip(".")
    return answer or None


def normalized_summary(completion: str, without_think_end: WithoutThinkEnd = "no_answer") -> str | None:
    """The whole summary, as general_match compares it (case, spacing, end punctuation aside)."""
    region = final_region(completion, without_think_end)
    return (plain_answer(region) or None) if region is not None else None


VOTE_KEYS: dict[str, Callable[[str, WithoutThinkEnd], Hashable | None]] = {
    "heldout": normalized_answer,
    "general": normalized_summary,
    "math": normalized_answer,
    "multiple_choice": lambda text, scope: extract_choice(text, without_think_end=scope),
    "code": lambda _text, _scope: None,
}


def benchmark_config(cfg: DictConfig, name: str) -> BenchmarkConfig:
    """eval.suite.<name> as a typed config (unknown keys and wrong types are errors)."""
    if name not in cfg.eval.suite:
        raise BenchmarkError(
            f"unknown benchmark {name!r} (eval.benchmarks); eval.suite has {', '.join(cfg.eval.suite)}. "
            f"Pick one of those or add it: +eval.suite.{name}={{kind:math,path:FILE}}"
        )
    entry = OmegaConf.to_container(cfg.eval.suite[name], resolve=True)
    if not isinstance(entry, dict):
        raise BenchmarkError(f"eval.suite.{name} must be a mapping of BenchmarkConfig keys, got {entry!r}")
    allowed = {f.name for f in fields(BenchmarkConfig)}
    unknown = set(entry) - allowed
    if unknown:
        raise BenchmarkError(f"eval.suite.{name}: unknown key(s) {sorted(unknown)}; use {sorted(allowed)}")
    return BenchmarkConfig(**{str(k): v for k, v in entry.items()})


def load_benchmark(cfg: DictConfig, name: str) -> Benchmark:
    """Benchmark `name` of eval.suite, capped at its num_problems (or eval.num_problems)."""
    spec = benchmark_config(cfg, name)
    if spec.kind not in KINDS:
        raise BenchmarkError(
            f"eval.suite.{name}.kind={spec.kind!r} is unknown; use one of {', '.join(KINDS)}"
        )
    problems = _load_rows(cfg, name, spec)
    limit = cfg.eval.num_problems if spec.num_problems is None else spec.num_problems
    if limit:
        problems = problems.select(range(min(limit, len(problems))))
    if len(problems) == 0:
        raise BenchmarkError(
            f"eval.suite.{name}: no problems in {spec.path or 'data.heldout'} ({spec.split} split)"
        )
    reward = spec.reward or (cfg.reward.accuracy if spec.kind == "heldout" else DEFAULT_REWARD[spec.kind])
    return Benchmark(
        name=name,
        kind=spec.kind,
        problems=problems,
        reward=reward,
        reward_kwargs={"mode": "all"} if spec.kind == "code" else {},
        k=benchmark_k(cfg, spec),
        max_new_tokens=cfg.eval.max_new_tokens if spec.max_new_tokens is None else spec.max_new_tokens,
        without_think_end=cfg.reward.without_think_end,
    )


def benchmark_k(cfg: DictConfig, spec: BenchmarkConfig) -> int:
    return cfg.eval.samples_per_problem if spec.samples_per_problem is None else spec.samples_per_problem


def _load_rows(cfg: DictConfig, name: str, spec: BenchmarkConfig) -> Dataset:
    from datasets import Dataset

    if spec.kind == "heldout":
        table = load_heldout(cfg.data)
        return Dataset.from_list(
            [
                {**r, "id": str(r.get("id", i)), "prompt": _with_instruction(r["prompt"], spec)}
                for i, r in enumerate(table)
            ]
        )
    if spec.kind == "general" and spec.path == "toy":
        return Dataset.from_list(_toy_general_rows(cfg, spec))
    if not spec.path:
        raise BenchmarkError(f"eval.suite.{name}.path is empty; set it to a local file or a hub dataset id")
    try:
        table = load_table(spec.path, spec.subset, spec.split)
    except Exception as e:  # hub offline, gated, a script dataset, a corrupt file: say which and why
        raise BenchmarkError(
            f"eval.suite.{name}: cannot load {spec.path!r} (subset {spec.subset}, split {spec.split}): "
            f"{type(e).__name__}: {e}. Point eval.suite.{name}.path at a local .jsonl/.parquet/.csv copy"
        ) from e
    require_columns(table, _required_columns(spec), spec.path, f"eval.suite.{name} (column keys)")
    build = {"math": _math_row, "multiple_choice": _choice_row, "code": _code_row, "general": _general_row}[
        spec.kind
    ]
    return Dataset.from_list([build(row, i, spec) for i, row in enumerate(table)])


def _required_columns(spec: BenchmarkConfig) -> list[str]:
    columns = [spec.prompt_column] + ([spec.id_column] if spec.id_column else [])
    if spec.kind == "math":
        columns.append(spec.answer_column)
    elif spec.kind == "general":
        columns += [spec.answer_column] + ([spec.forbidden_column] if spec.forbidden_column else [])
    elif spec.kind == "multiple_choice":
        columns += (
            [spec.choices_column, spec.answer_column]
            if spec.choices_column
            else [spec.correct_column or "<correct_column>", *spec.incorrect_columns]
        )
    else:
        columns += [spec.tests_column]
        columns += [c for c in (spec.fn_name_column, spec.starter_code_column) if c]
    return columns


def _problem_id(row: dict, index: int, spec: BenchmarkConfig) -> str:
    return str(row[spec.id_column]) if spec.id_column else str(index)


def _with_instruction(question: str, spec: BenchmarkConfig) -> str:
    return f"{question.strip()}\n\n{spec.instruction}" if spec.instruction else question


def _extra_columns(row: dict) -> dict:
    return {"language": row["language"]} if isinstance(row.get("language"), str) else {}


def _math_row(row: dict, index: int, spec: BenchmarkConfig) -> dict:
    return {
        "id": _problem_id(row, index, spec),
        "prompt": _with_instruction(str(row[spec.prompt_column]), spec),
        "answer": str(row[spec.answer_column]),
        **_extra_columns(row),
    }


def _general_row(row: dict, index: int, spec: BenchmarkConfig) -> dict:
    """A request with its good answers (a list, a JSON list or one string) and, when the file has
    them, its forbidden phrases, both kept as JSON lists for general_match."""
    forbidden = row[spec.forbidden_column] if spec.forbidden_column else []
    return {
        "id": _problem_id(row, index, spec),
        "prompt": _with_instruction(str(row[spec.prompt_column]), spec),
        "answer": json.dumps(string_list(row[spec.answer_column]), ensure_ascii=False),
        "forbidden": json.dumps(string_list(forbidden), ensure_ascii=False),
        **_extra_columns(row),
    }


def _toy_general_rows(cfg: DictConfig, spec: BenchmarkConfig) -> list[dict]:
    """The toy's held-out general requests (toy.preferences.general_benchmark_rows), as many as
    the benchmark evaluates (its num_problems, else eval.num_problems, else 200)."""
    toy = cfg.data.toy
    n = (cfg.eval.num_problems if spec.num_problems is None else spec.num_problems) or 200
    rows = general_benchmark_rows(n, seed=toy.seed, languages=tuple(toy.languages))
    return [{**r, "prompt": _with_instruction(r["prompt"], spec)} for r in rows]


def _choice_row(row: dict, index: int, spec: BenchmarkConfig) -> dict:
    problem_id = _problem_id(row, index, spec)
    options, answer = _options(row, spec, problem_id)
    lettered = "\n".join(f"{LETTERS[i]}) {str(o).strip()}" for i, o in enumerate(options))
    question = f"{str(row[spec.prompt_column]).strip()}\n\n{lettered}"
    return {
        "id": problem_id,
        "prompt": _with_instruction(question, spec),
        "answer": answer,
        **_extra_columns(row),
    }


def _options(row: dict, spec: BenchmarkConfig, problem_id: str) -> tuple[list[str], str]:
    """The options in display order and the correct letter."""
    if spec.choices_column:
        options = [str(o) for o in row[spec.choices_column]]
        return options, _answer_letter(row[spec.answer_column], options, problem_id)
    correct = str(row[spec.correct_column])  # type: ignore[index]
    options = [correct, *(str(row[c]) for c in spec.incorrect_columns)]
    # GPQA lists the correct option first; a seed per problem id shuffles it the same way every run.
    random.Random(f"options:{problem_id}").shuffle(options)
    return options, LETTERS[options.index(correct)]


def _answer_letter(answer: Any, options: list[str], problem_id: str) -> str:
    """An integer is a 0-based index (MMLU's layout); a string is a letter, else the correct
    option's text, else an index written as text (options may be numbers themselves)."""
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(options):
        return LETTERS[answer]
    text = str(answer).strip().strip("()")
    if len(text) == 1 and text.upper() in LETTERS[: len(options)]:
        return text.upper()
    if text in options:
        return LETTERS[options.index(text)]
    if text.isdigit() and int(text) < len(options):
        return LETTERS[int(text)]
    raise BenchmarkError(
        f"problem {problem_id}: answer {answer!r} is not a letter, an index or one of the options; "
        "set answer_column to the column with the correct option"
    )


def _code_row(row: dict, index: int, spec: BenchmarkConfig) -> dict:
    question = str(row[spec.prompt_column]).strip()
    starter = str(row[spec.starter_code_column] or "") if spec.starter_code_column else ""
    if starter.strip():
        question += f"\n\nStart from this code:\n```python\n{starter.rstrip()}\n```"
    fn_name = _function_name(row[spec.fn_name_column]) if spec.fn_name_column else None
    return {
        "id": _problem_id(row, index, spec),
        "prompt": _with_instruction(question, spec),
        "answer": "",
        "tests": json.dumps(code_tests(row[spec.tests_column], fn_name)),
        "fn_name": fn_name or "",
    }


def _function_name(value: Any) -> str | None:
    """A function name, or LiveCodeBench's metadata JSON ({"func_name": ...})."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        value = value.get("func_name")
    return str(value) if value else None


def code_tests(raw: Any, fn_name: str | None) -> list[dict] | Any:
    """LiveCodeBench test cases ({input, output, testtype}) in code_accuracy's forms: stdin tests as
    {input, output}; functional tests (one JSON argument per input line) as {fn_name, args,
    expected}. Anything else passes through for code_accuracy to read (its own forms)."""
    cases = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(cases, list) or not all(isinstance(c, dict) and "testtype" in c for c in cases):
        return cases
    converted = []
    for case in cases:
        if case["testtype"] == "functional":
            args = [json.loads(line) for line in str(case["input"]).splitlines() if line.strip()]
            converted.append({"fn_name": fn_name, "args": args, "expected": json.loads(case["output"])})
        else:
            converted.append({"input": case["input"], "output": case["output"]})
    return converted


def suite_problems(cfg: DictConfig) -> list[ConfigProblem]:
    """The problems of eval.benchmarks and the suite entries they name, checked
    without loading anything (local files: existence and columns; hub ids: nothing)."""
    problems = []
    for name in cfg.eval.benchmarks:
        if name not in cfg.eval.suite:
            problems.append(
                ConfigProblem(
                    "eval.benchmarks",
                    f"unknown benchmark {name!r}",
                    f"use one of {', '.join(cfg.eval.suite)}, or add +eval.suite.{name}={{kind:math,path:FILE}}",
                )
            )
            continue
        try:
            spec = benchmark_config(cfg, name)
        except (BenchmarkError, TypeError, ValueError) as e:
            problems.append(
                ConfigProblem(f"eval.suite.{name}", str(e), "see conf/benchmarks/standard.yaml for the keys")
            )
            continue
        key = f"eval.suite.{name}"
        if spec.kind not in KINDS:
            continue  # declared on BenchmarkConfig.kind: reported by pipeline/validate.py
        if spec.kind != "heldout" and not spec.path:
            problems.append(
                ConfigProblem(
                    f"{key}.path", "is empty", "set it to a local .jsonl/.parquet/.csv file or a hub id"
                )
            )
        elif spec.kind == "multiple_choice" and not spec.choices_column and not spec.correct_column:
            problems.append(
                ConfigProblem(
                    key,
                    "a multiple_choice benchmark needs its options",
                    "set choices_column, or correct_column + incorrect_columns",
                )
            )
        elif spec.kind != "heldout":
            problems += check_local_dataset(
                spec.path,
                _required_columns(spec),
                f"{key}.path",
                f"{key} (column keys)",
                subset=spec.subset,
                split=spec.split,
            )
        if spec.reward is not None and spec.reward not in REWARDS:
            problems.append(
                ConfigProblem(
                    f"{key}.reward",
                    f"no reward named {spec.reward!r}",
                    f"registered: {', '.join(sorted(REWARDS))}",
                )
            )
    return problems
