"""Datasets of every stage: the generated toy task, local files, or hub datasets, by one code path.

`datasets.load_dataset` does the loading (json/parquet builders for files, the hub otherwise);
r1pipe adds the toy generator, column checks with a clear error, and the light pre-flight check
that validation runs before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from r1pipe.config.problems import ConfigProblem
from r1pipe.toy.preferences import GENERAL_TASK, general_rows
from r1pipe.toy.task import Split, plan_language_switches, plan_self_checks, r1_response, sample_problems

if TYPE_CHECKING:
    # `datasets` (~1 s of imports) is imported by the functions that build datasets, not here:
    # validation and the orchestrator import this module for its file checks and DataError.
    from datasets import Dataset

FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class DataError(Exception):
    """A dataset is missing or has the wrong shape; the message names the file, key and fix."""


def is_local_path(path: str) -> bool:
    """A path on disk (or meant to be one) rather than a hub dataset id like `org/name`."""
    return (
        path.startswith(("/", "./", "../", "~")) or Path(path).suffix in FILE_BUILDERS or Path(path).exists()
    )


def toy_cold_start(toy: DictConfig) -> Dataset:
    """Readable long-CoT chats in the R1 format, generated from the toy task's train split."""
    from datasets import Dataset

    problems = sample_problems(
        toy.cold_start_examples,
        digits=toy.digits,
        split="train",
        seed=toy.seed,
        languages=tuple(toy.languages),
        heldout_fraction=toy.heldout_fraction,
    )
    checks = plan_self_checks(
        problems, toy.self_check_fraction, toy.slip_fraction, toy.seed, toy.self_check_target
    )
    switches = plan_language_switches(problems, toy.language_switch_fraction, toy.seed)
    return Dataset.from_list(
        [
            {
                "id": p.uid,
                "messages": [
                    {"role": "user", "content": p.prompt()},
                    {"role": "assistant", "content": r1_response(p, check, switch)},
                ],
                "answer": str(p.answer),
                "language": p.language,
                "task": "toy",
            }
            for p, check, switch in zip(problems, checks, switches, strict=True)
        ]
    )


def toy_problems(toy: DictConfig, split: Split, n: int, seed: int) -> Dataset:
    """Verifiable problems (prompt, answer, language, task) from one split of the toy task."""
    from datasets import Dataset

    problems = sample_problems(
        n,
        digits=toy.digits,
        split=split,
        seed=seed,
        languages=tuple(toy.languages),
        heldout_fraction=toy.heldout_fraction,
    )
    rows = [
        {"id": p.uid, "prompt": p.prompt(), "answer": str(p.answer), "language": p.language, "task": "toy"}
        for p in problems
    ]
    return Dataset.from_list(rows)


def toy_heldout(toy: DictConfig) -> Dataset:
    """Held-out problems: operand pairs never seen in pretraining or training."""
    return toy_problems(toy, "heldout", toy.heldout_examples, toy.seed)


def toy_set(toy: DictConfig, key: str) -> Dataset:
    """The toy problems behind data.<key>: held-out pairs, or train-split draws (stage 2's and
    stage 3's from different seeds, so stage 3 samples prompts stage 2 did not train on)."""
    if key == "heldout":
        return toy_heldout(toy)
    if key == "rejection_prompts":
        return toy_problems(toy, "train", toy.rejection_prompts, toy.seed + 2)
    return toy_problems(toy, "train", toy.rl_prompts, toy.seed + 1)


# Where hub sets keep a row's id: `id` (the toy, AIME), `uuid` (OpenR1-Math), `prompt_id`
# (ultrachat, ultrafeedback), `unique_id` (MATH-500), `question_id` (LiveCodeBench).
ID_COLUMNS = ("id", "uuid", "prompt_id", "unique_id", "problem_id", "question_id")


def id_column(columns: Iterable[str]) -> str | None:
    """The dataset's own id column, the first of ID_COLUMNS it has; None when it has none."""
    have = set(columns)
    return next((c for c in ID_COLUMNS if c in have), None)


def row_id(row: Mapping[str, Any], column: str | None, content: Iterable[str] = ("prompt", "answer")) -> str:
    """A row's id: its value in the dataset's id column, else a hash of its content, which stays
    the same when the set is shuffled, cut or copied (a row number would not), and which makes
    the same prompt drawn twice one prompt."""
    value = row.get(column) if column else None
    if value not in (None, ""):
        return str(value)
    text = json.dumps([row.get(k) for k in content], ensure_ascii=False, sort_keys=True, default=str)
    return "sha-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def load_table(path: str, subset: str | None, split: str) -> Dataset:
    """A local file/dir or a hub dataset, as one split."""
    from datasets import load_dataset

    if is_local_path(path):
        local = Path(path).expanduser()
        if local.is_dir():  # a dataset repo in the hub layout: its configs (subsets) as on the hub
            return load_dataset(str(local), subset, split=split)
        return load_dataset(FILE_BUILDERS.get(local.suffix, "json"), data_files=str(local), split="train")
    return load_dataset(path, subset, split=split)


def require_columns(ds: Dataset, columns: list[str], where: str, key: str) -> None:
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing}; it has {ds.column_names}. "
            f"Set {key} to the right column name or fix the file."
        )


def load_cold_start(data: DictConfig) -> Dataset:
    """Stage 1 SFT data as a conversational `messages` dataset."""
    spec = data.cold_start
    if spec.path == "toy":
        ds = toy_cold_start(data.toy)
    else:
        ds = load_table(spec.path, spec.subset, spec.split)
        require_columns(ds, [spec.messages_column], spec.path, "data.cold_start.messages_column")
        if spec.messages_column != "messages":
            ds = ds.rename_column(spec.messages_column, "messages")
    if spec.num_examples:
        ds = ds.select(range(min(spec.num_examples, len(ds))))
    return ds


def load_problems(data: DictConfig, key: str) -> Dataset:
    """Problems with `prompt` and `answer` columns (plus any others) from data.<key>."""
    spec = data[key]
    if spec.path == "toy":
        ds = toy_set(data.toy, key)
    else:
        ds = load_table(spec.path, spec.subset, spec.split)
        require_columns(
            ds, [spec.prompt_column, spec.answer_column], spec.path, f"data.{key}.prompt_column/answer_column"
        )
        renames = {
            c: n for c, n in [(spec.prompt_column, "prompt"), (spec.answer_column, "answer")] if c != n
        }
        ds = ds.rename_columns(renames)
    if spec.num_examples:
        ds = ds.select(range(min(spec.num_examples, len(ds))))
    return ds


def general_count(reasoning: int, fraction: float) -> int:
    """General prompts to add to `reasoning` reasoning prompts so they are `fraction` of the mix."""
    return round(reasoning * fraction / (1 - fraction))


def load_general_prompts(data: DictConfig, n: int) -> Dataset:
    """`n` general prompts (prompt, answer "", language, task "general") from data.general_prompts;
    a smaller set is repeated (each prompt is sampled afresh every time it comes up)."""
    from datasets import Dataset

    spec = data.general_prompts
    if spec.path == "toy":
        toy = data.toy
        rows = general_rows(spec.num_examples or n, seed=toy.seed, languages=tuple(toy.languages))
    else:
        ds = load_table(spec.path, spec.subset, spec.split)
        require_columns(ds, [spec.prompt_column], spec.path, "data.general_prompts.prompt_column")
        if spec.num_examples:
            ds = ds.select(range(min(spec.num_examples, len(ds))))
        rows = [
            {
                "prompt": r[spec.prompt_column],
                "answer": "",
                "language": r.get("language"),
                "task": GENERAL_TASK,
            }
            for r in ds
        ]
    return Dataset.from_list([rows[i % len(rows)] for i in range(n)] if rows else [])


MIX_COLUMNS = ("prompt", "answer", "language", "task")


def mix_prompts(reasoning: Dataset, general: Dataset, seed: int, task_run_length: int = 0) -> Dataset:
    """Stage 4's prompts: both sets on the columns the rewards read (a missing one is None, so a
    reasoning set without `task` takes reward.routing.default), shuffled together. `task_run_length`
    > 0: then ordered in runs of that many rows of one task (task_runs), for a trainer that takes
    the rows in order (all_scenario_rl.steps_by_task)."""
    from datasets import Value, concatenate_datasets

    def aligned(ds: Dataset) -> Dataset:
        ds = ds.select_columns([c for c in MIX_COLUMNS if c in ds.column_names])
        for column in MIX_COLUMNS:
            if column not in ds.column_names:
                ds = ds.add_column(column, [None] * len(ds))
            if ds.features[column] != Value("string"):
                ds = ds.cast_column(column, Value("string"))
        return ds

    parts = [aligned(reasoning)] + ([aligned(general)] if len(general) else [])
    mixed = concatenate_datasets(parts).shuffle(seed=seed)
    if task_run_length <= 0:
        return mixed
    return mixed.select(task_runs(mixed["task"], task_run_length, seed))


def task_runs(tasks: list[str | None], run: int, seed: int) -> list[int]:
    """Row order in which every `run` consecutive rows share one task: each task's rows (in their
    order) cut into runs, the runs shuffled with `seed`; the rows left over (a task's last, short
    run) come last. With run = prompts per step, every step's prompts are of one task."""
    by_task: dict[str | None, list[int]] = {}
    for index, task in enumerate(tasks):
        by_task.setdefault(task, []).append(index)
    runs, rest = [], []
    for rows in by_task.values():
        whole = len(rows) - len(rows) % run
        runs += [rows[i : i + run] for i in range(0, whole, run)]
        rest += rows[whole:]
    random.Random(seed).shuffle(runs)
    return [index for chunk in runs for index in chunk] + sorted(rest)


def load_heldout(data: DictConfig) -> Dataset:
    """Evaluation problems with `prompt` and `answer` columns."""
    return load_problems(data, "heldout")


def first_record_columns(path: Path) -> list[str]:
    """Column names of a local dataset file, read cheaply (first line or parquet schema)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if path.suffix == ".csv":
        import csv

        with path.open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f), [])
    with path.open(encoding="utf-8") as f:
        if path.suffix == ".json":
            head = json.load(f)
            record = head[0] if isinstance(head, list) else head
        else:
            record = json.loads(f.readline())
    return list(record)


def check_local_dataset(
    path: str,
    columns: list[str],
    key: str,
    column_key: str,
    chat_column: str | None = None,
    subset: str | None = None,
    split: str = "train",
) -> list[ConfigProblem]:
    """Each problem with a local dataset file or hub-layout directory; nothing for hub ids.
    `chat_column` (one of `columns`) must hold chat turns on every line of a .jsonl file."""
    if path == "toy" or not is_local_path(path):
        return []
    local = Path(path).expanduser()
    if not local.exists():
        return [
            ConfigProblem(
                key,
                f"dataset file {local} does not exist",
                f"set {key} to an existing .jsonl/.json/.parquet file or a hub id",
            )
        ]
    if local.is_dir():
        return local_dir_problems(local, columns, key, column_key, subset, split)
    try:
        have = first_record_columns(local)
    except Exception as e:  # a corrupt file is a user error, reported with the others
        return [
            ConfigProblem(
                key, f"cannot read {local}: {e}", "fix the file (one JSON object per line for .jsonl)"
            )
        ]
    if missing := missing_columns(local, have, columns, column_key):
        return missing
    checks = {".jsonl": first_bad_jsonl_line, ".json": first_bad_json_record}  # parquet/csv: typed columns
    check = checks.get(local.suffix)
    bad_line = check(local, columns, chat_column) if check else None
    if bad_line:
        fix = "fix or drop that line: every line must be one JSON object with those columns"
        if chat_column:
            fix += f', and {chat_column} a list of {{"role": ..., "content": "..."}} turns'
        return [ConfigProblem(key, bad_line, fix)]
    return []


def missing_columns(path: Path, have: list[str], columns: list[str], column_key: str) -> list[ConfigProblem]:
    """A problem naming the columns of `columns` that the file at `path` (with `have`) lacks."""
    missing = [c for c in columns if c not in have]
    if not missing:
        return []
    return [
        ConfigProblem(
            column_key,
            f"{path} has no column(s) {missing} (it has {have})",
            f"set {column_key} to one of {have}",
        )
    ]


def local_dir_problems(
    local: Path, columns: list[str], key: str, column_key: str, subset: str | None, split: str
) -> list[ConfigProblem]:
    """A directory in the hub layout (a downloaded dataset repo): its config (`subset`) and
    split exist, and the first data file of that split has `columns`. `datasets` resolves the
    configs from the card's YAML or the file names (load_dataset_builder: no data read)."""
    from datasets import load_dataset_builder

    subset_key = key.rsplit(".", 1)[0] + ".subset"
    try:
        builder = load_dataset_builder(str(local), subset)
    except Exception as error:  # noqa: BLE001 - a missing or unknown config, an unreadable card
        message = " ".join(str(error).split())
        return [ConfigProblem(subset_key, f"{local}: {message}", f"set {subset_key} to one of its configs")]
    files = dict(builder.config.data_files or {})
    if split not in files:
        split_key = key.rsplit(".", 1)[0] + ".split"
        return [
            ConfigProblem(
                split_key,
                f"{local} (config {builder.config.name!r}) has no split {split!r}",
                f"set {split_key} to one of {sorted(files)}",
            )
        ]
    first = Path(str(files[split][0]))
    if first.suffix not in FILE_BUILDERS:
        return []
    try:
        have = first_record_columns(first)
    except Exception as error:  # noqa: BLE001 - a corrupt file is a user error
        return [ConfigProblem(key, f"cannot read {first}: {error}", "fix or re-download the file")]
    return missing_columns(first, have, columns, column_key)
    return []


def first_bad_jsonl_line(path: Path, columns: list[str], chat_column: str | None = None) -> str | None:
    """The first line of a JSON-lines file that is not an object with `columns` (and chat turns
    in `chat_column`), named by its number; None when every line is. Streams the file: a bad line
    100,000 lines in would otherwise stop the stage after hours of work."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                return f"{path} line {number} is not valid JSON ({error.msg})"
            if why := record_problem(record, columns, chat_column):
                return f"{path} line {number}: {why}"
    return None


def first_bad_json_record(path: Path, columns: list[str], chat_column: str | None = None) -> str | None:
    """`first_bad_jsonl_line` for a .json file holding a list of records (read whole, as
    `datasets` reads it), naming the record by its index."""
    try:
        records = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError as error:
        return f"{path} is not valid JSON ({error.msg}, line {error.lineno})"
    for index, record in enumerate(records if isinstance(records, list) else [records]):
        if why := record_problem(record, columns, chat_column):
            return f"{path} record {index}: {why}"
    return None


def record_problem(record: object, columns: list[str], chat_column: str | None) -> str | None:
    if not isinstance(record, dict):
        return f"is a {type(record).__name__}, not a JSON object"
    missing = [c for c in columns if c not in record]
    if missing:
        return f"has no {missing}"
    if chat_column and (why := chat_turns_problem(record[chat_column])):
        return f"{chat_column}: {why}"
    return None


def chat_turns_problem(turns: object) -> str | None:
    """Why `turns` is not a conversation the chat template can render, or None."""
    if not isinstance(turns, list) or not turns:
        return f"is a {type(turns).__name__}, not a non-empty list of turns"
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("role"), str):
            return f"turn {i} is {str(turn)[:40]!r}, not an object with a role"
        if not isinstance(turn.get("content"), str):
            return f"turn {i} ({turn['role']}) has no text content"
    return None
