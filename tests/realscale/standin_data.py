"""Local stand-ins for the hub datasets the R1 recipe reads, in the hub repositories' own layouts.

`build_standins(root)` writes, under `root`, one directory per hub dataset (named `org/name` as
on the hub) holding a README.md with the card's YAML front matter (`configs:` and
`dataset_info:`) and the data files at the hub's relative paths and file names, so that
`datasets.load_dataset(root / "org/name", config, split=...)` resolves configs, splits, columns and
Arrow types as it does for the hub repository, with no network. Two benchmark exports sit beside
them as single files: `gpqa_diamond.csv` (GPQA's own CSV) and `livecodebench.jsonl` (LiveCodeBench
code_generation_lite exported to JSON lines, since datasets 5 no longer runs its loading script).

Schemas were written from the dataset cards (and, where a card says nothing, from public code that
reads the data); no file was downloaded or copied. Each `_build_*` function's docstring says where
its schema came from and what could not be confirmed.

The content is synthetic and controlled: a tiny test model is trained to answer in the R1 format
with `\\boxed{2}` or `\\boxed{3}`, so most math rows have the answer "2" or "3" (about half each),
a few have other answers ("5", "\\frac{1}{2}", ...) and OpenR1-Math and MATH-500 have a few rows
whose reference answer is text math-verify cannot parse, for the generative judge. All text is
English except a handful of Chinese OpenR1-Math problems, for the language-consistency reward.
Sizes are small (dozens of rows per split) and every build writes the same bytes (fixed seeds; no
clock, no uuid4, no hash randomisation).

Usage: python tests/realscale/standin_data.py OUT_DIR
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import pickle
import random
import shutil
import sys
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import Features, List, Value

SEED = 1234

# The chat-turn struct every card here declares (fields in the cards' order: content, role).
MESSAGES = List({"content": Value("string"), "role": Value("string")})

Row = dict[str, Any]


def _rng(name: str) -> random.Random:
    # One stream per dataset (str seeds go through sha512, so PYTHONHASHSEED does not matter):
    # changing one stand-in leaves the others' bytes as they were.
    return random.Random(f"{SEED}:{name}")


# --------------------------------------------------------------------------------------------
# Writing hub-layout repositories
# --------------------------------------------------------------------------------------------


def _feature_yaml(feature: Any) -> dict[str, Any]:
    """One feature as the cards write it: `dtype:` for a value, `sequence:` for a list of values
    (the OpenR1-Math card's form), `list:` for a list of structs (the chat-turn columns)."""
    if isinstance(feature, Value):
        return {"dtype": feature.dtype}
    if isinstance(feature, List) and isinstance(feature.feature, Value):
        return {"sequence": feature.feature.dtype}
    if isinstance(feature, List) and isinstance(feature.feature, dict):
        return {"list": [{"name": k, **_feature_yaml(v)} for k, v in feature.feature.items()]}
    raise TypeError(f"no card form for {feature!r}")


def _features_yaml(features: Features) -> list[dict[str, Any]]:
    return [{"name": name, **_feature_yaml(f)} for name, f in features.items()]


def _shards(prefix: str, rows: Sequence[Row], count: int) -> list[tuple[str, list[Row]]]:
    """`rows` cut into `count` files named as `push_to_hub` names them: `{prefix}-00000-of-00004.parquet`."""
    if len(rows) < count:
        raise ValueError(f"{prefix}: {len(rows)} rows cannot fill {count} shards")
    size, extra = divmod(len(rows), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append((f"{prefix}-{i:05d}-of-{count:05d}.parquet", list(rows[start:end])))
        start = end
    return out


def _write_parquet_config(
    repo: Path, features: Features, splits: dict[str, list[tuple[str, list[Row]]]]
) -> dict[str, Any]:
    """Write one config's parquet files under `repo`; return its `dataset_info` entry for the card.

    The split sizes in the card are this stand-in's own: `datasets` checks `num_examples` against
    what it read (BASIC_CHECKS), so the hub's numbers would fail the load."""
    schema = features.arrow_schema  # carries the `huggingface` metadata push_to_hub writes too
    info_splits, download_size, dataset_size = [], 0, 0
    for split, files in splits.items():
        examples, nbytes = 0, 0
        for relative, rows in files:
            table = pa.Table.from_pylist(rows, schema=schema)
            path = repo / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
            examples += table.num_rows
            nbytes += table.nbytes
            download_size += path.stat().st_size
        info_splits.append({"name": split, "num_bytes": nbytes, "num_examples": examples})
        dataset_size += nbytes
    return {
        "features": _features_yaml(features),
        "splits": info_splits,
        "download_size": download_size,
        "dataset_size": dataset_size,
    }


def _write_readme(repo: Path, front_matter: dict[str, Any], body: str) -> None:
    front = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=1000)
    (repo / "README.md").write_text(f"---\n{front}---\n\n{body.strip()}\n", encoding="utf-8")


def _fresh_dir(path: Path) -> Path:
    # A rebuild into the same root must not keep shards from an older layout (the configs' globs
    # would pick them up), so each stand-in's own directory is recreated.
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _standin_body(hub_id: str) -> str:
    return (
        f"# Synthetic stand-in for {hub_id}\n\n"
        "Written by r1pipe's tests/realscale/standin_data.py: the hub repository's layout, configs, "
        "splits, columns and types, with small synthetic rows. Not the real data."
    )


# --------------------------------------------------------------------------------------------
# Synthetic math problems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MathItem:
    problem: str
    steps: tuple[str, ...]  # a short worked solution, one sentence each
    answer: str
    language: str = "en"  # "en" or "zh"
    verifiable: bool = True  # False: a text answer math-verify cannot parse (the judge decides)

    def boxed(self, answer: str | None = None) -> str:
        answer = self.answer if answer is None else answer
        inner = answer if self.verifiable else "\\text{" + answer + "}"
        return "\\boxed{" + inner + "}"


NAMES = ("Ava", "Ben", "Chloe", "Dev", "Emma", "Finn", "Grace", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya")
OBJECTS = (
    "apple",
    "pencil",
    "marble",
    "book",
    "sticker",
    "coin",
    "cookie",
    "shell",
    "card",
    "stamp",
    "balloon",
)
INT_KINDS = ("add", "sub", "story_add", "story_sub", "linear", "scale", "share", "remainder")


def _count(word: str, k: int) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _int_item(rng: random.Random, n: int) -> MathItem:
    """A short English problem whose answer is the integer n (n >= 1)."""
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    kind = rng.choice(INT_KINDS)
    if kind == "story_add" and n >= 2:
        a = rng.randint(1, n - 1)
        b = n - a
        return MathItem(
            f"{name} has {_count(obj, a)} and finds {b} more. How many {obj}s does {name} have now?",
            (f"{name} starts with {a} and gains {b}.", f"{a} + {b} = {n}, so {name} has {_count(obj, n)}."),
            str(n),
        )
    if kind == "story_sub":
        b = rng.randint(1, 12)
        return MathItem(
            f"{name} had {n + b} {obj}s and gave {b} of them away. How many {obj}s are left?",
            (f"{name} gives away {b} of the {n + b} {obj}s.", f"{n + b} - {b} = {n}."),
            str(n),
        )
    if kind == "sub":
        b = rng.randint(1, 12)
        return MathItem(
            f"Compute ${n + b} - {b}$.", (f"Subtract {b} from {n + b}.", f"{n + b} - {b} = {n}."), str(n)
        )
    if kind == "linear":
        a = rng.randint(1, 20)
        return MathItem(
            f"Find $x$ if $x + {a} = {n + a}$.",
            (f"Subtract {a} from both sides.", f"x = {n + a} - {a} = {n}."),
            str(n),
        )
    if kind == "scale":
        k = rng.randint(2, 9)
        return MathItem(
            f"Solve for $y$: ${k}y = {k * n}$.",
            (f"Divide both sides by {k}.", f"y = {k * n} / {k} = {n}."),
            str(n),
        )
    if kind == "share":
        k = rng.randint(2, 6)
        return MathItem(
            f"{name} shares {k * n} {obj}s equally among {k} friends. How many {obj}s does each friend get?",
            (f"Split {k * n} into {k} equal parts.", f"{k * n} / {k} = {n}."),
            str(n),
        )
    if kind == "remainder":
        b, q = rng.randint(n + 1, n + 9), rng.randint(1, 9)
        return MathItem(
            f"What is the remainder when {q * b + n} is divided by {b}?",
            (
                f"{q} times {b} is {q * b}.",
                f"{q * b + n} - {q * b} = {n}, which is less than {b}, so it is the remainder.",
            ),
            str(n),
        )
    a = rng.randint(0, n)
    return MathItem(
        f"What is {a} + {n - a}?", (f"I need to add {a} and {n - a}.", f"{a} + {n - a} = {n}."), str(n)
    )


def _half_item(rng: random.Random) -> MathItem:
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    k = rng.randint(2, 12)
    return rng.choice(
        (
            MathItem(
                "What is $1 \\div 2$, written as a fraction?",
                ("Dividing 1 into 2 equal parts gives one half.", "As a fraction that is \\frac{1}{2}."),
                "\\frac{1}{2}",
            ),
            MathItem(
                f"{name} ate half of a pizza. What fraction of the pizza is left?",
                ("Half of the pizza was eaten.", "1 - \\frac{1}{2} = \\frac{1}{2}."),
                "\\frac{1}{2}",
            ),
            MathItem(
                f"A jar holds {2 * k} {obj}s and {k} of them are red. What fraction of the {obj}s are red?",
                (f"{k} out of {2 * k} are red.", f"\\frac{{{k}}}{{{2 * k}}} simplifies to \\frac{{1}}{{2}}."),
                "\\frac{1}{2}",
            ),
        )
    )


# Reference answers that are words, not math: math-verify parses nothing, so a judge must decide.
TEXT_ITEMS = (
    MathItem(
        "A triangle has sides of length 5, 5 and 7. Is it scalene, isosceles or equilateral?",
        (
            "Two of its sides have the same length, 5.",
            "A triangle with exactly two equal sides is isosceles.",
        ),
        "the triangle is isosceles, not equilateral",
        verifiable=False,
    ),
    MathItem(
        "Does the series $1 + 1 + 1 + \\cdots$ converge or diverge?",
        (
            "Every term is 1, so the partial sums grow without bound.",
            "Partial sums without a limit mean divergence.",
        ),
        "the series diverges to positive infinity",
        verifiable=False,
    ),
    MathItem(
        "Is the function $f(x) = x^2$ even, odd, or neither?",
        ("f(-x) = (-x)^2 = x^2 = f(x) for every x.", "A function with f(-x) = f(x) is even."),
        "the function is an even function",
        verifiable=False,
    ),
    MathItem(
        "Two different lines in a plane both have slope 3. Are they parallel, perpendicular, or neither?",
        ("Different lines with the same slope never meet.", "Lines that never meet in a plane are parallel."),
        "the two lines are parallel",
        verifiable=False,
    ),
    MathItem(
        "Is the number $\\sqrt{2}$ rational or irrational?",
        (
            "If it were p/q in lowest terms, p and q would both be even.",
            "That contradiction means it is irrational.",
        ),
        "the number is irrational",
        verifiable=False,
    ),
    MathItem(
        "Is the graph of $y = 2x + 1$ a line, a parabola, or a circle?",
        ("The equation has degree one in x.", "The graph of a degree-one equation is a straight line."),
        "the graph is a line",
        verifiable=False,
    ),
    MathItem(
        "A quadrilateral has four equal sides and four right angles. What is it called?",
        ("Four equal sides make it a rhombus.", "A rhombus with right angles is a square."),
        "the quadrilateral is a square",
        verifiable=False,
    ),
    MathItem(
        "Does the equation $x^2 + 1 = 0$ have any real solutions?",
        (
            "For real x, x^2 is never negative, so x^2 + 1 is always positive.",
            "So it is never zero for real x.",
        ),
        "there are no real solutions",
        verifiable=False,
    ),
)

ZH_NAMES = ("小明", "小红", "小华", "小刚", "小丽")
ZH_OBJECTS = ("苹果", "铅笔", "糖果", "气球")


def _zh_item(rng: random.Random, n: int) -> MathItem:
    """A Chinese problem (answer n) for the language-consistency reward to detect."""
    name, obj = rng.choice(ZH_NAMES), rng.choice(ZH_OBJECTS)
    a = rng.randint(1, n - 1) if n >= 2 else 0
    kind = rng.choice(("story", "calc", "linear"))
    if kind == "story":
        return MathItem(
            f"{name}有{a}个{obj}，妈妈又给了{name}{n - a}个。{name}现在一共有几个{obj}？",
            (
                f"{name}原来有{a}个{obj}，妈妈又给了{n - a}个。",
                f"{a} + {n - a} = {n}，所以一共有{n}个{obj}。",
            ),
            str(n),
            language="zh",
        )
    if kind == "calc":
        return MathItem(
            f"计算：${a} + {n - a}$。",
            (f"把{a}和{n - a}相加。", f"{a} + {n - a} = {n}。"),
            str(n),
            language="zh",
        )
    c = rng.randint(1, 20)
    return MathItem(
        f"一个数加上{c}等于{n + c}，这个数是多少？",
        (f"用{n + c}减去{c}。", f"{n + c} - {c} = {n}，所以这个数是{n}。"),
        str(n),
        language="zh",
    )


class MathBank:
    """Draws problems with no repeats across every math stand-in of one build, so the eval sets
    (MATH-500, AIME) share no problem with the training sets."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def _unique(self, make: Callable[[], MathItem]) -> MathItem:
        for _ in range(10_000):
            item = make()
            if item.problem not in self.seen:
                self.seen.add(item.problem)
                return item
        raise RuntimeError("the problem templates ran out of distinct problems")

    def items(
        self,
        rng: random.Random,
        *,
        twos: int,
        threes: int,
        others: Sequence[str] = (),
        text: int = 0,
        chinese: int = 0,
    ) -> list[MathItem]:
        """`twos` and `threes` English problems with answers 2 and 3, one per answer in `others`,
        `text` unparseable-answer problems and `chinese` Chinese ones (answers 2, 3, 2, ...), shuffled."""
        plan: list[tuple[str, str]] = [("int", "2")] * twos + [("int", "3")] * threes
        plan += [("half" if a == "\\frac{1}{2}" else "int", a) for a in others]
        plan += [("text", str(i)) for i in range(text)]
        plan += [("zh", "2" if i % 2 == 0 else "3") for i in range(chinese)]
        out: list[MathItem] = []
        text_pool = [t for t in TEXT_ITEMS if t.problem not in self.seen]
        for kind, answer in plan:
            if kind == "int":
                out.append(self._unique(lambda a=answer: _int_item(rng, int(a))))
            elif kind == "half":
                out.append(self._unique(lambda: _half_item(rng)))
            elif kind == "zh":
                out.append(self._unique(lambda a=answer: _zh_item(rng, int(a))))
            else:
                if not text_pool:
                    raise RuntimeError("more text-answer rows asked for than TEXT_ITEMS has")
                item = text_pool.pop(0)
                self.seen.add(item.problem)
                out.append(item)
        rng.shuffle(out)
        return out


EN_OPENERS = (
    "Okay, let me read the problem carefully.",
    "Alright, let me work through this step by step.",
    "Let me think about what the question is asking.",
)
EN_FILLER = (
    "Let me double-check the arithmetic with a quick side calculation: {x} + {y} = {s}.",
    "Just to be careful, {x} times {y} is {p}, so multiplication behaves as expected here.",
    "Going back over the problem statement once more to make sure nothing was missed.",
    "Another way to see it: counting up from {x} by {y} gives {s}, which matches the rule I used.",
    "Wait, let me re-verify that step before moving on.",
    "Hmm, {s} minus {y} brings me back to {x}, so the operations are consistent.",
)
ZH_OPENERS = ("好的，我先仔细读一下题目。", "让我一步一步地思考这个问题。")
ZH_FILLER = (
    "再检查一遍：{x} + {y} = {s}。",
    "换一种方法验证：{x} 乘以 {y} 等于 {p}。",
    "回到题目，确认没有遗漏任何条件。",
    "{s} 减去 {y} 又得到 {x}，计算是一致的。",
)


def _think(item: MathItem, rng: random.Random, target_chars: int, language: str, answer: str) -> str:
    """Reasoning for a <think> block: the worked steps, then checks until about `target_chars`
    (R1 traces run to tens of KiB; random numbers keep the padding from compressing to nothing)."""
    zh = language == "zh"
    lines = [rng.choice(ZH_OPENERS if zh else EN_OPENERS), *item.steps]
    size = sum(len(line) + 1 for line in lines)
    while size < target_chars:
        x, y = rng.randint(2, 999), rng.randint(2, 99)
        line = rng.choice(ZH_FILLER if zh else EN_FILLER).format(x=x, y=y, s=x + y, p=x * y)
        lines.append(line)
        size += len(line) + 1
    lines.append(f"所以答案是 {answer}。" if zh else f"So the answer is {answer}.")
    return "\n".join(lines)


def _response(
    item: MathItem, rng: random.Random, target_chars: int, language: str, answer: str | None = None
) -> str:
    """An R1-format answer: <think> reasoning, then a summary ending in the boxed answer."""
    answer = item.answer if answer is None else answer
    think = _think(item, rng, target_chars, language, answer)
    if language == "zh":
        summary = "".join(item.steps) + f"所以答案是 {item.boxed(answer)}。"
    else:
        summary = " ".join(item.steps) + f" The answer is {item.boxed(answer)}."
    return f"<think>\n{think}\n</think>\n\n{summary}"


def _solution(item: MathItem) -> str:
    if item.language == "zh":
        return "".join(item.steps) + f"因此答案为 ${item.boxed()}$。"
    return " ".join(item.steps) + f" Therefore the answer is ${item.boxed()}$."


# --------------------------------------------------------------------------------------------
# 1. open-r1/Mixture-of-Thoughts
# --------------------------------------------------------------------------------------------

MOT_FEATURES = Features({"messages": MESSAGES, "num_tokens": Value("int64"), "source": Value("string")})

CODE_TASKS = (
    ("their sum", "a + b"),
    ("their difference a - b", "a - b"),
    ("their product", "a * b"),
    ("the larger of the two", "max(a, b)"),
    ("the smaller of the two", "min(a, b)"),
    ("the absolute value of their difference", "abs(a - b)"),
    ("the remainder of a divided by b", "a % b"),
    ("the sum of their squares", "a * a + b * b"),
)
SCIENCE_ITEMS = (
    (
        "How many hydrogen atoms are in one molecule of water?",
        "A water molecule is H2O: two hydrogen atoms bonded to one oxygen atom.",
        "2",
    ),
    (
        "How many atoms are in one molecule of carbon dioxide?",
        "CO2 has one carbon atom and two oxygen atoms, three in all.",
        "3",
    ),
    (
        "How many oxygen atoms are in one molecule of ozone?",
        "Ozone is O3, so it has three oxygen atoms.",
        "3",
    ),
    (
        "How many electrons can the first electron shell of an atom hold?",
        "The first shell has a single 1s orbital, which holds two electrons.",
        "2",
    ),
    (
        "How many protons does a helium nucleus have?",
        "Helium has atomic number 2, so its nucleus has two protons.",
        "2",
    ),
    (
        "How many protons does a lithium nucleus have?",
        "Lithium has atomic number 3, so its nucleus has three protons.",
        "3",
    ),
    (
        "How many chambers does a fish heart have?",
        "A fish heart has one atrium and one ventricle, two chambers in all.",
        "2",
    ),
    (
        "How many tiny bones are in the human middle ear?",
        "The middle ear holds the malleus, the incus and the stapes.",
        "3",
    ),
)


def _mot_row(user: str, assistant: str, source: str) -> Row:
    # num_tokens is the card's token count of the sample; here a ~4 characters per token estimate
    # (no tokenizer is loaded to build test data).
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "num_tokens": (len(user) + len(assistant)) // 4 + 1,
        "source": source,
    }


def _build_mixture_of_thoughts(repo: Path, bank: MathBank) -> Path:
    """open-r1/Mixture-of-Thoughts: configs all, code, math, science, each with one `train` split.

    Schema from the dataset card (README `dataset_info`, seen through a hub mirror of README.md at
    ec22eec): messages (list of {content, role}), num_tokens (int64), source (string); `configs`
    paths `{config}/train-*`; `all` holds every row of the three others (its row count on the card
    is their sum). Shard counts: math 4 and code 8 as listed in the hub's file tree; science 4 and
    all 15 were not seen and are what push_to_hub's 500 MB shards give for the card's dataset_size.
    Not confirmed: the values of `source` (written here as the datasets the card says each part
    was distilled from), whether assistant turns hold the <think> block inline (assumed, as
    open-r1 trains on them that way), the absence of a system turn, and the row order of `all`
    (written code, then math, then science)."""
    rng = _rng("mixture-of-thoughts")
    math_rows = [
        _mot_row(item.problem, _response(item, rng, rng.randint(300, 1500), "en"), "open-r1/OpenR1-Math-220k")
        for item in bank.items(rng, twos=30, threes=30, others=("5", "\\frac{1}{2}", "10", "4"))
    ]
    code_rows = []
    for what, expr in CODE_TASKS:
        user = f"Write a Python program that reads two positive integers a and b from one line of input and prints {what}."
        think = (
            f"I need to read two integers from a single line and print {what}.\n"
            f"Splitting the line and mapping int over the parts gives a and b, then I print {expr}."
        )
        code = f"```python\na, b = map(int, input().split())\nprint({expr})\n```"
        code_rows.append(_mot_row(user, f"<think>\n{think}\n</think>\n\n{code}", "open-r1/codeforces-cots"))
    science_rows = []
    for question, reason, answer in SCIENCE_ITEMS:
        assistant = f"<think>\n{reason}\nSo the count is {answer}.\n</think>\n\n{reason} The answer is \\boxed{{{answer}}}."
        science_rows.append(_mot_row(question, assistant, "nvidia/Llama-Nemotron-Post-Training-Dataset"))

    parts = {
        "all": code_rows + math_rows + science_rows,
        "code": code_rows,
        "math": math_rows,
        "science": science_rows,
    }
    shards = {"all": 15, "code": 8, "math": 4, "science": 4}
    infos = []
    for config, rows in parts.items():
        info = _write_parquet_config(
            repo, MOT_FEATURES, {"train": _shards(f"{config}/train", rows, shards[config])}
        )
        infos.append({"config_name": config, **info})
    _write_readme(
        repo,
        {
            "dataset_info": infos,
            "configs": [
                {"config_name": c, "data_files": [{"split": "train", "path": f"{c}/train-*"}]} for c in parts
            ],
            "license": "apache-2.0",
            "language": ["en"],
            "task_categories": ["text-generation"],
            "size_categories": ["100K<n<1M"],
        },
        _standin_body("open-r1/Mixture-of-Thoughts"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 2. open-r1/OpenR1-Math-220k
# --------------------------------------------------------------------------------------------

OPENR1_FEATURES = Features(
    {
        "problem": Value("string"),
        "solution": Value("string"),
        "answer": Value("string"),
        "problem_type": Value("string"),
        "question_type": Value("string"),
        "source": Value("string"),
        "uuid": Value("string"),
        "is_reasoning_complete": List(Value("bool")),
        "generations": List(Value("string")),
        "correctness_math_verify": List(Value("bool")),
        "correctness_llama": List(Value("bool")),
        "finish_reasons": List(Value("string")),
        "correctness_count": Value("int64"),
        "messages": MESSAGES,
    }
)
# Characters per trace: the real traces average ~50 KiB a row; these go from 1.5 KiB to ~48 KiB.
TRACE_LENGTHS = (1_500, 3_000, 6_000, 12_000, 24_000, 48_000)
PROBLEM_TYPES = ("Algebra", "Number Theory", "Combinatorics", "Geometry", "Logic and Puzzles", "Other")


def _wrong_answer(item: MathItem) -> str:
    if not item.verifiable:
        return "it cannot be determined"
    if item.answer.isdigit():
        return str(int(item.answer) + 1)
    return "\\frac{1}{3}"


def _openr1_row(item: MathItem, rng: random.Random, sources: Sequence[str]) -> Row:
    """A problem with 2-4 R1 traces: the first correct, later ones correct, wrong or cut at the
    token limit; correctness columns as the card describes them (math-verify on every trace, the
    Llama judge only where it was asked, i.e. on unparseable answers and a few others)."""
    target = rng.choice(TRACE_LENGTHS)
    generations: list[str] = []
    complete: list[bool] = []
    correct: list[bool] = []
    finish: list[str] = []
    for g in range(rng.choice((2, 2, 2, 2, 3, 4))):
        outcome = "right" if g == 0 else rng.choice(("right", "right", "wrong", "cut"))
        # Chinese problems: the first trace reasons in Chinese, later ones drift into English,
        # the language mixing the R1 paper's language-consistency reward is for.
        language = item.language if g == 0 else "en"
        length = int(target * rng.uniform(0.7, 1.3))
        if outcome == "cut":
            generations.append("<think>\n" + _think(item, rng, length, language, item.answer)[:length])
        elif outcome == "wrong":
            generations.append(_response(item, rng, length, language, _wrong_answer(item)))
        else:
            generations.append(_response(item, rng, length, language))
        complete.append(outcome != "cut")
        correct.append(outcome == "right")
        finish.append("length" if outcome == "cut" else "stop")
    asked_judge = not item.verifiable or rng.random() < 0.15
    return {
        "problem": item.problem,
        "solution": _solution(item),
        "answer": item.answer,
        "problem_type": rng.choice(PROBLEM_TYPES),
        "question_type": "math-word-problem",
        "source": rng.choice(sources),
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "is_reasoning_complete": complete,
        "generations": generations,
        "correctness_math_verify": [c and item.verifiable for c in correct],
        "correctness_llama": correct if asked_judge else None,
        # Nullable in the real set; about 40% of rows here have none, so readers meet both.
        "finish_reasons": finish if rng.random() < 0.6 else None,
        "correctness_count": sum(correct),
        "messages": [
            {"role": "user", "content": item.problem},
            {"role": "assistant", "content": generations[0]},
        ],
    }


def _build_openr1_math(repo: Path, bank: MathBank) -> Path:
    """open-r1/OpenR1-Math-220k: configs default (data/train-*), extended (extended/train-*) and
    all (all/train-*), each with one `train` split.

    Schema from the dataset card's `dataset_info` (commit 075afe0 of the README, and a later copy of
    the card in a mirror): the 14 columns with `sequence: bool|string` lists and the messages
    struct list; data/ holding train-0000N-of-00010.parquet from the hub's file tree. Not confirmed:
    `all` - the 075afe0 card gave it two splits (default, extended) over all/default-* and
    all/extended-*; the later card copy gives it one `train` split over all/train-*, which is what is
    written here (rows of default, then extended); extended's and all's shard counts (10 and 20,
    from push_to_hub's 500 MB rule and the card's sizes); the exact values of `source` and
    `problem_type` (NuminaMath-1.5 names as the card's text lists them)."""
    rng = _rng("openr1-math")
    default_items = bank.items(
        rng, twos=26, threes=26, others=("5", "\\frac{1}{2}", "10", "4"), text=4, chinese=4
    )
    default = [
        _openr1_row(
            i, rng, ("olympiads", "aops_forum", "cn_contest", "amc_aime", "number_theory", "inequalities")
        )
        for i in default_items
    ]
    extended_items = bank.items(rng, twos=13, threes=13, others=("5", "\\frac{1}{2}"), text=2, chinese=2)
    extended = [_openr1_row(i, rng, ("cn_k12", "olympiads", "cn_contest")) for i in extended_items]

    parts = {
        "all": ("all/train", default + extended, 20),
        "default": ("data/train", default, 10),
        "extended": ("extended/train", extended, 10),
    }
    infos, configs = [], []
    for config, (prefix, rows, count) in parts.items():
        infos.append(
            {
                "config_name": config,
                **_write_parquet_config(repo, OPENR1_FEATURES, {"train": _shards(prefix, rows, count)}),
            }
        )
        configs.append({"config_name": config, "data_files": [{"split": "train", "path": f"{prefix}-*"}]})
    _write_readme(
        repo,
        {"license": "apache-2.0", "language": ["en"], "configs": configs, "dataset_info": infos},
        _standin_body("open-r1/OpenR1-Math-220k"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 3. HuggingFaceH4/MATH-500
# --------------------------------------------------------------------------------------------

MATH_SUBJECTS = (
    ("Prealgebra", "prealgebra"),
    ("Algebra", "algebra"),
    ("Number Theory", "number_theory"),
    ("Counting & Probability", "counting_and_probability"),
    ("Geometry", "geometry"),
    ("Intermediate Algebra", "intermediate_algebra"),
    ("Precalculus", "precalculus"),
)


def _build_math500(repo: Path, bank: MathBank) -> Path:
    """HuggingFaceH4/MATH-500: one `test.jsonl` at the repo root (the `test` split by its name).

    Layout from the hub's file tree (.gitattributes, README.md of 412 bytes, test.jsonl); columns
    problem, solution, answer, subject, level (int), unique_id ("test/<subject>/<n>.json") from
    code reading the file and copies of it with a card (level int64). Not confirmed: the README's
    text (it is too small to hold a `configs:` block, so none is written and `datasets` infers the
    split from the file name) and the subject spelling "Counting & Probability"."""
    rng = _rng("math-500")
    items = bank.items(rng, twos=13, threes=13, others=("5", "\\frac{1}{2}", "10", "4"), text=2)
    ids: set[str] = set()
    lines = []
    for item in items:
        subject, slug = rng.choice(MATH_SUBJECTS)
        unique_id = f"test/{slug}/{rng.randint(1, 1300)}.json"
        while unique_id in ids:
            unique_id = f"test/{slug}/{rng.randint(1, 1300)}.json"
        ids.add(unique_id)
        row = {
            "problem": item.problem,
            "solution": _solution(item),
            "answer": item.answer,
            "subject": subject,
            "level": rng.randint(1, 5),
            "unique_id": unique_id,
        }
        lines.append(json.dumps(row))
    (repo / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _write_readme(
        repo,
        {"task_categories": ["text-generation"], "language": ["en"], "pretty_name": "MATH-500"},
        _standin_body("HuggingFaceH4/MATH-500"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 4./5. HuggingFaceH4/ultrafeedback_binarized and HuggingFaceH4/ultrachat_200k
# --------------------------------------------------------------------------------------------

EXPLANATIONS = {
    "why the sky is blue": "Sunlight scatters off air molecules, and blue light scatters far more than red, so blue "
    "reaches our eyes from every part of the sky.",
    "how a rainbow forms": "Raindrops bend sunlight as it enters, reflect it inside, and bend it again as it leaves, "
    "splitting white light into its colors.",
    "what a budget is": "A budget is a plan for your money that lists what you expect to earn and decides ahead of time "
    "how much goes to each expense.",
    "how vaccines work": "A vaccine shows your immune system a harmless piece or copy of a germ, so it learns to "
    "recognize and fight the real germ quickly later.",
    "what photosynthesis does": "Photosynthesis lets plants use sunlight to turn water and carbon dioxide into sugar, "
    "releasing oxygen as a by-product.",
    "why we have seasons": "Earth's axis is tilted, so as it orbits the Sun each hemisphere gets more direct sunlight "
    "for part of the year and less for the rest.",
    "what a password manager is": "A password manager is an app that stores your passwords in an encrypted vault and "
    "fills them in for you, so each account can have a strong, unique password.",
    "how compound interest works": "Compound interest pays interest on your earlier interest as well as on your "
    "original deposit, so savings grow faster the longer they stay invested.",
    "what a leap year is": "A leap year adds February 29 to keep the calendar in step with Earth's orbit, which takes "
    "about a quarter of a day longer than 365 days.",
    "how a refrigerator keeps food cold": "A refrigerator pumps a refrigerant that absorbs heat inside the cabinet as "
    "it evaporates and releases that heat outside as it condenses.",
}
POLITE = {
    "Send me the report now.": "Could you please send me the report when you have a moment?",
    "Your code is wrong.": "I think there might be an issue in the code; could we take a look at it together?",
    "Move your car.": "Would you mind moving your car, please?",
    "I need an answer today.": "Would it be possible to get an answer by the end of today?",
    "Stop talking during the meeting.": "Could we keep side conversations for after the meeting, please?",
    "Fix this before lunch.": "Would you be able to fix this before lunch, if possible?",
    "Call me back.": "Please give me a call back when you are free.",
    "This is late again.": "I noticed this arrived later than planned; is there anything I can do to help?",
    "Turn the music down.": "Would you mind turning the music down a little, please?",
    "Answer my email.": "When you get a chance, could you reply to my email?",
}
HAIKU_LINES = (
    ("soft light on the glass", "a slow breath before the day", "quiet hours drift by"),
    ("the wind turns a page", "shadows stretch across the floor", "time walks on tiptoe"),
    ("a small bird listens", "the world hums a patient tune", "evening settles in"),
)
TIPS = (
    "Start small and build the habit gradually.",
    "Pick a regular time of day and stick to it.",
    "Remove distractions before you begin.",
    "Track your progress so you can see what works.",
    "Ask a friend to keep you accountable.",
    "Prepare what you need the night before.",
    "Take short breaks so you do not burn out.",
    "Celebrate small wins along the way.",
)
NAME_IDEAS = (
    "Sunny Corner",
    "Maple & Co.",
    "The Cozy Nook",
    "Bright Days",
    "Little Harbor",
    "Willow",
    "Juniper",
    "Clover",
)
WORDS = (
    "bright",
    "calm",
    "busy",
    "warm",
    "gentle",
    "lively",
    "crisp",
    "golden",
    "noisy",
    "peaceful",
    "fresh",
)
# fmt: off
HAIKU_TOPICS = ("autumn", "the ocean", "a quiet library", "morning coffee", "city rain", "a mountain trail",
                "winter stars", "an old bicycle", "a lighthouse", "spring rain")
TIP_TOPICS = ("staying focused while studying", "sleeping better", "keeping a houseplant alive",
              "saving money on groceries", "learning a new language", "running a first 5k", "writing clear emails",
              "packing for a weekend trip", "cooking at home more", "reading more books")
NAME_TOPICS = ("a small bakery", "a golden retriever puppy", "a book club", "a neighborhood garden",
               "a hiking group", "a coffee cart", "a pet goldfish", "a family game night", "a podcast about cooking",
               "a school robotics team")
THANKS_TO = ("my teacher", "my neighbor", "a coworker", "my friend Alex", "my grandmother", "a nurse", "my mentor",
             "a bus driver", "my coach", "the librarian")
QUOTE_TOPICS = ("hard work", "patience", "learning", "kindness", "practice", "curiosity", "teamwork",
                "starting over", "saving money", "exercise")
SCENES = ("a summer morning", "a busy airport", "a snowy forest", "a farmers market", "a library at night",
          "a football match", "a mountain lake", "a birthday party", "a train station", "a rainy afternoon")
# fmt: on
WEAK_REPLIES = (
    "I'm not sure what you mean.",
    "Sure.",
    "That is a good question.",
    "You can find this online.",
    "Here is something: the weather is nice today.",
)


def _general_pool() -> list[tuple[str, Callable[[random.Random], str]]]:
    """(request, writer of a good reply): 80 short everyday English requests."""
    pool: list[tuple[str, Callable[[random.Random], str]]] = []

    def haiku(topic: str) -> Callable[[random.Random], str]:
        return lambda rng: f"{topic.capitalize()},\n" + "\n".join(rng.choice(HAIKU_LINES)[1:])

    def tips(topic: str) -> Callable[[random.Random], str]:
        return lambda rng: (
            f"Here are three tips for {topic}:\n"
            + "\n".join(f"{i}. {tip}" for i, tip in enumerate(rng.sample(TIPS, 3), start=1))
        )

    def fixed(text: str) -> Callable[[random.Random], str]:
        return lambda rng: text

    def name_for(topic: str) -> Callable[[random.Random], str]:
        return lambda rng: (
            f'How about "{rng.choice(NAME_IDEAS)}" for {topic}? It is short, warm and easy to remember.'
        )

    def thanks(person: str) -> Callable[[random.Random], str]:
        return lambda rng: (
            f"Dear {person},\n\nThank you so much for your kindness. It meant a great deal to me, "
            "and I am truly grateful.\n\nWarm regards,\nSam"
        )

    def quote(topic: str) -> Callable[[random.Random], str]:
        return lambda rng: (
            f'"Every small step of {topic} adds up to something bigger than you can see today."'
        )

    def three_words(topic: str) -> Callable[[random.Random], str]:
        return lambda rng: ", ".join(w.capitalize() for w in rng.sample(WORDS, 3)) + "."

    writers: tuple[tuple[str, Sequence[str], Callable[[str], Callable[[random.Random], str]]], ...] = (
        ("Write a haiku about {}.", HAIKU_TOPICS, haiku),
        ("Give me three tips for {}.", TIP_TOPICS, tips),
        ("Explain {} in one or two sentences.", tuple(EXPLANATIONS), lambda t: fixed(EXPLANATIONS[t])),
        ("Suggest a friendly name for {}.", NAME_TOPICS, name_for),
        ("Write a short thank-you note to {}.", THANKS_TO, thanks),
        ('Rewrite this sentence to sound more polite: "{}"', tuple(POLITE), lambda t: fixed(POLITE[t])),
        ("Give me a one-line motivational quote about {}.", QUOTE_TOPICS, quote),
        ("Describe {} in three words.", SCENES, three_words),
    )
    for template, topics, writer in writers:
        pool += [(template.format(topic), writer(topic)) for topic in topics]
    return pool


def _prompt_id(prompt: str) -> str:
    # The real prompt_id is a 64-hex-digit SHA-256 digest (of the prompt, it seems).
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def _turn(role: str, content: str) -> dict[str, str]:
    return {"content": content, "role": role}


UF_FEATURES = Features(
    {
        "prompt": Value("string"),
        "prompt_id": Value("string"),
        "chosen": MESSAGES,
        "rejected": MESSAGES,
        "messages": MESSAGES,
        "score_chosen": Value("float64"),
        "score_rejected": Value("float64"),
    }
)
UF_FILES = {  # the hub's data/ file names (one shard per split)
    "train_prefs": "data/train_prefs-00000-of-00001-17309c769bfe5733.parquet",
    "train_sft": "data/train_sft-00000-of-00001-49a5a3acc4f5d493.parquet",
    "test_prefs": "data/test_prefs-00000-of-00001-b403a43ee1c9b23c.parquet",
    "test_sft": "data/test_sft-00000-of-00001-0813b122475731c9.parquet",
    "train_gen": "data/train_gen-00000-of-00001-4f6b46acdf69184b.parquet",
    "test_gen": "data/test_gen-00000-of-00001-bc700fffaa890aad.parquet",
}


def _build_ultrafeedback(repo: Path) -> Path:
    """HuggingFaceH4/ultrafeedback_binarized: config default, splits train_prefs, train_sft,
    test_prefs, test_sft, train_gen, test_gen (paths data/{split}-*).

    Schema from the dataset card (README on the hub): prompt, prompt_id, chosen / rejected /
    messages (list of {content, role}), score_chosen, score_rejected (float64); file names from the
    hub's data/ tree. Not confirmed: how the real prefs, sft and gen splits differ in content (here
    the train splits share 64 prompts and the test splits 16); chosen and messages are the same
    [user, assistant] chat, rejected a weaker reply to the same prompt."""
    rng = _rng("ultrafeedback")
    pool = _general_pool()
    rng.shuffle(pool)
    rows = []
    for prompt, write in pool:
        good = write(rng)
        weak = rng.choice(WEAK_REPLIES)
        chosen = [_turn("user", prompt), _turn("assistant", good)]
        score_chosen = rng.choice((7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0))
        rows.append(
            {
                "prompt": prompt,
                "prompt_id": _prompt_id(prompt),
                "chosen": chosen,
                "rejected": [_turn("user", prompt), _turn("assistant", weak)],
                "messages": chosen,
                "score_chosen": score_chosen,
                "score_rejected": rng.choice((1.0, 2.0, 3.0, 4.0, 5.0, 6.0)),
            }
        )
    train, test = rows[:64], rows[64:80]
    info = _write_parquet_config(
        repo,
        UF_FEATURES,
        {split: [(path, train if split.startswith("train") else test)] for split, path in UF_FILES.items()},
    )
    _write_readme(
        repo,
        {
            "language": ["en"],
            "license": "mit",
            "task_categories": ["text-generation"],
            "pretty_name": "UltraFeedback Binarized",
            "configs": [
                {
                    "config_name": "default",
                    "data_files": [{"split": s, "path": f"data/{s}-*"} for s in UF_FILES],
                }
            ],
            "dataset_info": info,
        },
        _standin_body("HuggingFaceH4/ultrafeedback_binarized"),
    )
    return repo


UC_FEATURES = Features({"prompt": Value("string"), "prompt_id": Value("string"), "messages": MESSAGES})
UC_FILES = {  # data/ file names as in a byte-for-byte mirror of the hub repo (zhengr/ultrachat_200k)
    "train_sft": (
        "data/train_sft-00000-of-00003-a3ecf92756993583.parquet",
        "data/train_sft-00001-of-00003-0a1804bcb6ae68c6.parquet",
        "data/train_sft-00002-of-00003-ee46ed25cfae92c6.parquet",
    ),
    "test_sft": ("data/test_sft-00000-of-00001-f7dfac4afe5b93f4.parquet",),
    "train_gen": (
        "data/train_gen-00000-of-00003-a6c9fb894be3e50b.parquet",
        "data/train_gen-00001-of-00003-d6a0402e417f35ca.parquet",
        "data/train_gen-00002-of-00003-c0db75b92a2f48fd.parquet",
    ),
    "test_gen": ("data/test_gen-00000-of-00001-3d4cd8309148a71f.parquet",),
}
FOLLOW_UPS = (
    ("Thanks! Could you make it a little shorter?", lambda reply: reply.split("\n")[0].rstrip(":,") + "."),
    (
        "That helps. Can you add one more idea?",
        lambda reply: "Of course. " + "Another idea is to start small today.",
    ),
    ("Great, thank you!", lambda reply: "You're welcome! Let me know if you need anything else."),
)


def _build_ultrachat(repo: Path) -> Path:
    """HuggingFaceH4/ultrachat_200k: config default, splits train_sft, test_sft, train_gen, test_gen
    (paths data/{split}-*).

    Schema from the dataset card (README on the hub): prompt, prompt_id, messages (list of
    {content, role}); multi-turn chats whose first user turn is the prompt. File names not seen on
    the hub itself: taken from a mirror uploaded with huggingface_hub's upload_folder (3 shards for
    the train splits, 1 for the test splits). Not confirmed: the content difference between the
    sft and gen splits (here each pair shares its chats)."""
    rng = _rng("ultrachat")
    pool = _general_pool()
    rng.shuffle(pool)
    rows = []
    for prompt, write in pool:
        reply = write(rng)
        follow_up, answer = rng.choice(FOLLOW_UPS)
        messages = [
            _turn("user", prompt),
            _turn("assistant", reply),
            _turn("user", follow_up),
            _turn("assistant", answer(reply)),
        ]
        rows.append({"prompt": prompt, "prompt_id": _prompt_id(prompt), "messages": messages})
    by_split = {
        "train_sft": rows[:64],
        "test_sft": rows[64:80],
        "train_gen": rows[:64],
        "test_gen": rows[64:80],
    }
    splits = {}
    for split, names in UC_FILES.items():
        cut = _shards(split, by_split[split], len(names))
        splits[split] = [(name, part) for name, (_, part) in zip(names, cut, strict=True)]
    info = _write_parquet_config(repo, UC_FEATURES, splits)
    _write_readme(
        repo,
        {
            "language": ["en"],
            "license": "mit",
            "size_categories": ["100K<n<1M"],
            "task_categories": ["text-generation"],
            "pretty_name": "UltraChat 200k",
            "configs": [
                {
                    "config_name": "default",
                    "data_files": [{"split": s, "path": f"data/{s}-*"} for s in UC_FILES],
                }
            ],
            "dataset_info": info,
        },
        _standin_body("HuggingFaceH4/ultrachat_200k"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 6. HuggingFaceH4/aime_2024
# --------------------------------------------------------------------------------------------

AIME_FEATURES = Features(
    {
        "id": Value("int64"),
        "problem": Value("string"),
        "solution": Value("string"),
        "answer": Value("string"),
        "url": Value("string"),
        "year": Value("string"),
    }
)


def _build_aime(repo: Path, bank: MathBank) -> Path:
    """HuggingFaceH4/aime_2024: config default, one `train` split (data/train-*), 30 rows as on
    the hub.

    Schema from the dataset card (README on the hub): id (int64), problem, solution, answer
    (string), url (string), year (string). Not confirmed: the shard's file name (one shard,
    data/train-00000-of-00001.parquet, as push_to_hub names it for 140 kB) and the id values (60-89
    here, after a benchmark listing that shows 60 for the first problem). URLs point nowhere on
    purpose (example.invalid)."""
    rng = _rng("aime-2024")
    items = bank.items(rng, twos=14, threes=14, others=("5", "10"))
    rows = [
        {
            "id": 60 + i,
            "problem": item.problem,
            "solution": _solution(item),
            "answer": item.answer,
            "url": f"https://example.invalid/aime/2024/{'I' if i < 15 else 'II'}/problem-{i % 15 + 1}",
            "year": "2024",
        }
        for i, item in enumerate(items)
    ]
    info = _write_parquet_config(repo, AIME_FEATURES, {"train": _shards("data/train", rows, 1)})
    _write_readme(
        repo,
        {
            "dataset_info": info,
            "configs": [
                {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}
            ],
        },
        _standin_body("HuggingFaceH4/aime_2024"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 7. GPQA (Idavidrein/gpqa), diamond CSV
# --------------------------------------------------------------------------------------------

_GPQA_VALIDATOR = (
    "Feedback",
    "Validator Revision Suggestion",
    "Is First Validation",
    "Post hoc agreement",
    "Sufficient Expertise?",
    "Understand the question?",
    "Question Difficulty",
    "Validator Answered Correctly",
    "Self-reported time (minutes)",
    "Probability Correct",
    "Manual Correctness Adjustment",
    "Expert Validator",
)
_GPQA_NON_EXPERT = (
    "Feedback",
    "Validator Answered Correctly",
    "Explanation",
    "Self-reported time (minutes)",
    "Websites visited",
    "Probability Correct",
    "Manual Correctness Adjustment",
    "Non-Expert Validator",
)
GPQA_COLUMNS = (
    "Pre-Revision Question",
    "Pre-Revision Correct Answer",
    "Pre-Revision Incorrect Answer 1",
    "Pre-Revision Incorrect Answer 2",
    "Pre-Revision Incorrect Answer 3",
    "Pre-Revision Explanation",
    "Self-reported question-writing time (minutes)",
    "Question",
    "Correct Answer",
    "Incorrect Answer 1",
    "Incorrect Answer 2",
    "Incorrect Answer 3",
    "Explanation",
    "Revision Comments (from Question Writer)",
    "Subdomain",
    "Writer's Difficulty Estimate",
    "Extra Revised Question",
    "Extra Revised Explanation",
    "Extra Revised Correct Answer",
    "Extra Revised Incorrect Answer 1",
    "Extra Revised Incorrect Answer 2",
    "Extra Revised Incorrect Answer 3",
    "Non-Expert Validator Accuracy",
    "Majority Non-Expert Vals Incorrect",
    "Expert Validator Accuracy",
    "Record ID",
    "High-level domain",
    "Question Writer",
    *(f"{c}_EV_{k}" for k in (1, 2) for c in _GPQA_VALIDATOR),
    *(f"{c}_NEV_{k}" for k in (1, 2, 3) for c in _GPQA_NON_EXPERT),
    "Expert Validator Disagreement Category",
    "Canary String",
)
# fmt: off
# (domain, subdomain, question, correct, three incorrect, explanation)
GPQA_QUESTIONS = (
    ("Physics", "Electromagnetism and Photonics", "Which particle carries a negative electric charge?",
     "electron", ("proton", "neutron", "photon"), "Electrons carry charge -e; protons +e; neutrons and photons none."),
    ("Chemistry", "Inorganic Chemistry", "What is the chemical symbol of sodium?",
     "Na", ("So", "Sd", "N"), "Sodium's symbol comes from its Latin name, natrium."),
    ("Biology", "Molecular Biology", "Which organelle produces most of a eukaryotic cell's ATP?",
     "mitochondrion", ("ribosome", "Golgi apparatus", "lysosome"), "Oxidative phosphorylation happens in mitochondria."),
    ("Physics", "Physics (general)", "What is the SI unit of force?",
     "newton", ("joule", "watt", "pascal"), "One newton is one kilogram metre per second squared."),
    ("Chemistry", "Organic Chemistry", "How many hydrogen atoms are in one molecule of methane?",
     "4", ("2", "3", "6"), "Methane is CH4: carbon bonded to four hydrogen atoms."),
    ("Biology", "Genetics", "Which molecule stores the genetic information of most organisms?",
     "DNA", ("ATP", "glucose", "cholesterol"), "Genomes of cellular life are made of DNA."),
    ("Chemistry", "Chemistry (general)", "What is the pH of pure water at 25 degrees Celsius?",
     "7", ("1", "10", "14"), "Pure water at 25 C has equal H+ and OH- at 1e-7 M, so pH 7."),
    ("Chemistry", "Chemistry (general)", "Which gas makes up most of Earth's atmosphere?",
     "nitrogen", ("oxygen", "carbon dioxide", "argon"), "Dry air is about 78 percent nitrogen."),
    ("Physics", "Relativistic Mechanics", "What is the approximate speed of light in vacuum?",
     "3 x 10^8 m/s", ("3 x 10^5 m/s", "340 m/s", "9.8 m/s"), "c is about 299,792,458 m/s."),
    ("Biology", "Molecular Biology", "Which base pairs with adenine in DNA?",
     "thymine", ("cytosine", "guanine", "uracil"), "A pairs with T in DNA (with U only in RNA)."),
    ("Biology", "Molecular Biology", "What holds the two strands of a DNA double helix together?",
     "hydrogen bonds", ("ionic bonds", "metallic bonds", "peptide bonds"), "Base pairs are joined by hydrogen bonds."),
    ("Physics", "Physics (general)", "Which law says pressure times volume is constant for a gas at fixed temperature?",
     "Boyle's law", ("Charles's law", "Ohm's law", "Hooke's law"), "Boyle's law: PV is constant at constant T."),
    ("Chemistry", "Inorganic Chemistry", "Which element is the most electronegative?",
     "fluorine", ("oxygen", "chlorine", "nitrogen"), "Fluorine has the highest Pauling electronegativity, 3.98."),
    ("Physics", "Physics (general)", "Which quantity is conserved in an elastic collision but not in an inelastic one?",
     "kinetic energy", ("momentum", "mass", "electric charge"), "Momentum is always conserved; kinetic energy only if elastic."),
    ("Biology", "Molecular Biology", "Which process converts light energy into chemical energy in plants?",
     "photosynthesis", ("respiration", "fermentation", "transpiration"), "Photosynthesis stores light energy in sugars."),
    ("Physics", "High-energy particle physics", "What is the charge of an alpha particle in units of e?",
     "+2", ("+1", "-1", "0"), "An alpha particle is a helium-4 nucleus: two protons."),
    ("Biology", "Molecular Biology", "Which enzyme unwinds the DNA double helix during replication?",
     "helicase", ("ligase", "primase", "DNA polymerase"), "Helicase separates the strands at the fork."),
    ("Chemistry", "Inorganic Chemistry", "What is the usual oxidation state of oxygen in its compounds?",
     "-2", ("-1", "+2", "0"), "Oxygen is -2 except in peroxides, superoxides and with fluorine."),
    ("Physics", "High-energy particle physics", "Which boson mediates the electromagnetic interaction?",
     "photon", ("gluon", "W boson", "graviton"), "The photon is the gauge boson of electromagnetism."),
    ("Biology", "Genetics", "Which blood cells carry oxygen?",
     "red blood cells", ("white blood cells", "platelets", "plasma cells"), "Hemoglobin in red blood cells binds oxygen."),
)
# fmt: on
DIFFICULTY = "Hard undergraduate level (could be a question on a hard undergraduate exam for students majoring in the subject)"


def _gpqa_value(value: Any) -> str:
    # CSV cells as a pandas export writes them: empty for missing, floats with a point, True/False.
    if value is None:
        return ""
    return str(value)


def _gpqa_rows(rng: random.Random, questions: Sequence[tuple[Any, ...]]) -> list[list[str]]:
    rows = []
    for i, (domain, subdomain, question, correct, wrong, explanation) in enumerate(questions):
        row: dict[str, Any] = dict.fromkeys(GPQA_COLUMNS)
        row.update(
            {
                "Pre-Revision Question": question,
                "Pre-Revision Correct Answer": correct,
                "Pre-Revision Incorrect Answer 1": wrong[0],
                "Pre-Revision Incorrect Answer 2": wrong[1],
                "Pre-Revision Incorrect Answer 3": wrong[2],
                "Pre-Revision Explanation": explanation,
                "Self-reported question-writing time (minutes)": float(rng.choice((15, 30, 45, 60, 120))),
                "Question": question,
                "Correct Answer": correct,
                "Incorrect Answer 1": wrong[0],
                "Incorrect Answer 2": wrong[1],
                "Incorrect Answer 3": wrong[2],
                "Explanation": explanation,
                "Revision Comments (from Question Writer)": "Thanks for the feedback; the question is unchanged.",
                "Subdomain": subdomain,
                "Writer's Difficulty Estimate": DIFFICULTY,
                "Non-Expert Validator Accuracy": round(rng.choice((0, 1, 2)) / 3, 4),
                "Majority Non-Expert Vals Incorrect": float(rng.random() < 0.6),
                "Expert Validator Accuracy": rng.choice((0.5, 1.0)),
                "Record ID": "rec"
                + "".join(
                    rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                    for _ in range(14)
                ),
                "High-level domain": domain,
                "Question Writer": f"writer{rng.randint(100, 999)}",
                "Expert Validator Disagreement Category": float(rng.randint(1, 8))
                if rng.random() < 0.3
                else None,
                "Canary String": f"standin:gpqa:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            }
        )
        if i == 0:
            # A few real rows carry an extra revision; one here keeps these columns typed as text.
            row.update(
                {
                    "Extra Revised Question": question,
                    "Extra Revised Explanation": explanation,
                    "Extra Revised Correct Answer": correct,
                    "Extra Revised Incorrect Answer 1": wrong[0],
                    "Extra Revised Incorrect Answer 2": wrong[1],
                    "Extra Revised Incorrect Answer 3": wrong[2],
                }
            )
        for k in (1, 2):
            right = rng.random() < 0.8
            row.update(
                {
                    f"Feedback_EV_{k}": "Clear question with a single correct answer.",
                    f"Validator Revision Suggestion_EV_{k}": "No revisions necessary.",
                    f"Is First Validation_EV_{k}": k == 1,
                    f"Post hoc agreement_EV_{k}": "Agree" if right else "Disagree",
                    f"Sufficient Expertise?_EV_{k}": "Yes",
                    f"Understand the question?_EV_{k}": "Yes",
                    f"Question Difficulty_EV_{k}": DIFFICULTY,
                    f"Validator Answered Correctly_EV_{k}": int(right),
                    f"Self-reported time (minutes)_EV_{k}": float(rng.randint(5, 40)),
                    f"Probability Correct_EV_{k}": f"{rng.choice((55, 75, 85, 95))}%",
                    f"Expert Validator_EV_{k}": f"expert{rng.randint(100, 999)}",
                }
            )
        for k in (1, 2, 3):
            right = rng.random() < 0.4
            row.update(
                {
                    f"Feedback_NEV_{k}": "A fair question.",
                    f"Validator Answered Correctly_NEV_{k}": float(right),
                    f"Explanation_NEV_{k}": "I looked up the main terms and compared the options.",
                    f"Self-reported time (minutes)_NEV_{k}": float(rng.randint(10, 60)),
                    f"Websites visited_NEV_{k}": "https://example.invalid/search",
                    f"Probability Correct_NEV_{k}": f"{rng.choice((25, 40, 55, 70))}%",
                    f"Non-Expert Validator_NEV_{k}": f"validator{rng.randint(100, 999)}",
                }
            )
        rows.append([_gpqa_value(row[c]) for c in GPQA_COLUMNS])
    return rows


def _write_gpqa_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(GPQA_COLUMNS)
        writer.writerows(rows)


def _build_gpqa(repo: Path) -> Path:
    """Idavidrein/gpqa: CSV files at the repo root, one config per file (gpqa_diamond ->
    gpqa_diamond.csv, ...), each a single `train` split; diamond is a subset of main, main of
    extended (16, 18, 20 questions here).

    Layout from the dataset card (README `configs:` with `data_files: gpqa_<name>.csv`); the 78
    column names, in order, from a row of the set printed in public evaluation code, and the column
    types from a card of a parquet conversion of gpqa_extended (PR on the hub). Not confirmed: that
    diamond.csv has exactly the columns of extended (it is assumed), the cell formats of the real
    CSV, and the gpqa_experts config, which has other columns and is left out (its card entry too,
    so the configs written all load). The gating fields of the card are left out."""
    rng = _rng("gpqa")
    rows = _gpqa_rows(rng, GPQA_QUESTIONS)
    for name, count in (("gpqa_extended", 20), ("gpqa_main", 18), ("gpqa_diamond", 16)):
        _write_gpqa_csv(repo / f"{name}.csv", rows[:count])
    _write_readme(
        repo,
        {
            "license": "cc-by-4.0",
            "viewer": True,
            "configs": [
                {"config_name": name, "data_files": f"{name}.csv"}
                for name in ("gpqa_extended", "gpqa_main", "gpqa_diamond")
            ],
            "task_categories": ["question-answering", "text-generation"],
            "language": ["en"],
            "tags": ["open-domain-qa", "open-book-qa", "multiple-choice-qa"],
            "pretty_name": "GPQA",
            "size_categories": ["n<1K"],
        },
        _standin_body("Idavidrein/gpqa"),
    )
    return repo


# --------------------------------------------------------------------------------------------
# 8. LiveCodeBench code_generation_lite, as JSON lines
# --------------------------------------------------------------------------------------------


def _ints(*bounds: tuple[int, int]) -> Callable[[random.Random], list[int]]:
    return lambda rng: [rng.randint(lo, hi) for lo, hi in bounds]


def _seq(lo: int, hi: int) -> Callable[[random.Random], list[int]]:
    def draw(rng: random.Random) -> list[int]:
        n = rng.randint(1, 6)
        return [n, *(rng.randint(lo, hi) for _ in range(n))]

    return draw


# fmt: off
# (title, task, input format, constraints, draw inputs, answer): AtCoder-style stdin problems
STDIN_TASKS: tuple[tuple[str, str, str, str, Callable[[random.Random], list[int]], Callable[[list[int]], int]], ...] = (
    ("Sum of Two Integers", "You are given two integers A and B. Print A + B.", "A B", "0 \\leq A, B \\leq 100",
     _ints((0, 100), (0, 100)), lambda v: v[0] + v[1]),
    ("Difference", "You are given two integers A and B. Print A - B.", "A B", "0 \\leq A, B \\leq 100",
     _ints((0, 100), (0, 100)), lambda v: v[0] - v[1]),
    ("Product", "You are given two integers A and B. Print A \\times B.", "A B", "0 \\leq A, B \\leq 100",
     _ints((0, 100), (0, 100)), lambda v: v[0] * v[1]),
    ("Larger Number", "You are given two integers A and B. Print the larger of them.", "A B",
     "0 \\leq A, B \\leq 100", _ints((0, 100), (0, 100)), lambda v: max(v)),
    ("Smaller Number", "You are given two integers A and B. Print the smaller of them.", "A B",
     "0 \\leq A, B \\leq 100", _ints((0, 100), (0, 100)), lambda v: min(v)),
    ("Sum of Three", "You are given three integers A, B and C. Print A + B + C.", "A B C",
     "0 \\leq A, B, C \\leq 100", _ints((0, 100), (0, 100), (0, 100)), sum),
    ("Double It", "You are given an integer N. Print 2N.", "N", "0 \\leq N \\leq 1000",
     _ints((0, 1000)), lambda v: 2 * v[0]),
    ("Square", "You are given an integer N. Print N^2.", "N", "0 \\leq N \\leq 1000",
     _ints((0, 1000)), lambda v: v[0] * v[0]),
    ("Absolute Difference", "You are given two integers A and B. Print |A - B|.", "A B",
     "0 \\leq A, B \\leq 100", _ints((0, 100), (0, 100)), lambda v: abs(v[0] - v[1])),
    ("Sum of a Sequence", "You are given N integers A_1, \\ldots, A_N. Print their sum.",
     "N\nA_1 A_2 \\ldots A_N", "1 \\leq N \\leq 6, 0 \\leq A_i \\leq 100", _seq(0, 100), lambda v: sum(v[1:])),
    ("Count Positive", "You are given N integers A_1, \\ldots, A_N. Print how many of them are positive.",
     "N\nA_1 A_2 \\ldots A_N", "1 \\leq N \\leq 6, -10 \\leq A_i \\leq 10", _seq(-10, 10),
     lambda v: sum(1 for x in v[1:] if x > 0)),
    ("Last Digit", "You are given an integer N. Print the last digit of N.", "N", "0 \\leq N \\leq 10^6",
     _ints((0, 1_000_000)), lambda v: v[0] % 10),
    ("Remainder", "You are given two integers A and B. Print the remainder of A divided by B.", "A B",
     "0 \\leq A \\leq 1000, 1 \\leq B \\leq 100", _ints((0, 1000), (1, 100)), lambda v: v[0] % v[1]),
    ("Integer Quotient", "You are given two integers A and B. Print A divided by B, rounded down.", "A B",
     "0 \\leq A \\leq 1000, 1 \\leq B \\leq 100", _ints((0, 1000), (1, 100)), lambda v: v[0] // v[1]),
)
# (title, task, method name, argument names, answer): LeetCode-style functional problems
FUNCTIONAL_TASKS: tuple[tuple[str, str, str, tuple[str, ...], Callable[..., int]], ...] = (
    ("Add Two Integers", "Given two integers num1 and num2, return their sum.", "addTwo", ("num1", "num2"),
     lambda a, b: a + b),
    ("Maximum of Two", "Given two integers num1 and num2, return the larger one.", "maxOfTwo", ("num1", "num2"),
     lambda a, b: max(a, b)),
)
# fmt: on


def _stdin_text(task_format: str, values: list[int]) -> str:
    # One line per line of the input format (sequences: N, then the N values on one line).
    if "\n" in task_format:
        return f"{values[0]}\n{' '.join(map(str, values[1:]))}\n"
    return " ".join(map(str, values)) + "\n"


def _private_tests(tests: list[dict[str, str]]) -> str:
    # As LiveCodeBench ships them: a JSON string, pickled, zlib-compressed, base64-encoded
    # (lcb_runner decodes json.loads(pickle.loads(zlib.decompress(base64.b64decode(s))))).
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests), protocol=4))).decode("ascii")


def _build_livecodebench(path: Path) -> Path:
    """LiveCodeBench code_generation_lite exported to .jsonl (the hub repo is a loading script):
    question_title, question_content, platform, question_id, contest_id, contest_date,
    starter_code, difficulty, public_test_cases (JSON string of [{input, output, testtype}]),
    private_test_cases (base64 of zlib of a pickled JSON string), metadata (JSON string; func_name
    for functional problems).

    Columns and encodings from lcb_runner's CodeGenerationProblem as reproduced in public code;
    contest_date in its ISO form ("2024-08-03T00:00:00"). Not confirmed: the exact statement layout
    (written AtCoder-style with a sample) and the pickle protocol the real rows use (any loads).
    14 stdin problems (AtCoder) and 2 functional ones (LeetCode, with starter code), all easy, dated
    weekly from 2024-08-03, inside the paper's 2024-08..2025-01 window."""
    rng = _rng("livecodebench")
    start = date(2024, 8, 3)
    rows = []
    for i, (title, task, fmt, constraints, draw, solve) in enumerate(STDIN_TASKS):
        tests = []
        for _ in range(2 + 4):  # 2 public, 4 private
            values = draw(rng)
            tests.append(
                {"input": _stdin_text(fmt, values), "output": f"{solve(values)}\n", "testtype": "stdin"}
            )
        public, private = tests[:2], tests[2:]
        sample = public[0]
        content = (
            f"{task}\n\nInput\n\nThe input is given from Standard Input in the following format:\n{fmt}\n\n"
            f"Output\n\nPrint the answer.\n\nConstraints\n\n- {constraints}\n- All input values are integers.\n\n"
            f"Sample Input 1\n\n{sample['input']}\nSample Output 1\n\n{sample['output']}"
        )
        contest = f"abc{365 + i}"
        rows.append(
            {
                "question_title": title,
                "question_content": content,
                "platform": "atcoder",
                "question_id": f"{contest}_a",
                "contest_id": contest,
                "contest_date": f"{start + timedelta(days=7 * i)}T00:00:00",
                "starter_code": "",
                "difficulty": "easy",
                "public_test_cases": json.dumps(public),
                "private_test_cases": _private_tests(private),
                "metadata": "{}",
            }
        )
    for j, (title, task, func, args, solve) in enumerate(FUNCTIONAL_TASKS):
        tests = []
        for _ in range(2 + 4):
            values = [rng.randint(-50, 50) for _ in args]
            tests.append(
                {
                    "input": "\n".join(json.dumps(v) for v in values),
                    "output": json.dumps(solve(*values)),
                    "testtype": "functional",
                }
            )
        signature = ", ".join(f"{a}: int" for a in args)
        example = ", ".join(f"{a} = {v}" for a, v in zip(args, tests[0]["input"].split("\n"), strict=True))
        rows.append(
            {
                "question_title": title,
                "question_content": f"{task}\n\nExample 1:\n\nInput: {example}\nOutput: {tests[0]['output']}",
                "platform": "leetcode",
                "question_id": str(3500 + j),
                "contest_id": f"weekly-contest-{410 + j}",
                "contest_date": f"{start + timedelta(days=7 * (len(STDIN_TASKS) + j))}T00:00:00",
                "starter_code": f"class Solution:\n    def {func}(self, {signature}) -> int:\n        ",
                "difficulty": "easy",
                "public_test_cases": json.dumps(tests[:2]),
                "private_test_cases": _private_tests(tests[2:]),
                "metadata": json.dumps({"func_name": func}),
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def build_standins(root: Path) -> dict[str, Path]:
    """Write every stand-in under root; return {hub_id_or_name: path}, e.g.
    {"open-r1/Mixture-of-Thoughts": root/"open-r1/Mixture-of-Thoughts", ...,
     "gpqa_diamond.csv": root/"gpqa_diamond.csv", "livecodebench.jsonl": root/"livecodebench.jsonl"}.

    Each stand-in's own directory or file is replaced; nothing else under root is touched."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    bank = MathBank()  # one bank, in this fixed order: same problems on every build
    out: dict[str, Path] = {}
    out["open-r1/Mixture-of-Thoughts"] = _build_mixture_of_thoughts(
        _fresh_dir(root / "open-r1/Mixture-of-Thoughts"), bank
    )
    out["open-r1/OpenR1-Math-220k"] = _build_openr1_math(_fresh_dir(root / "open-r1/OpenR1-Math-220k"), bank)
    out["HuggingFaceH4/MATH-500"] = _build_math500(_fresh_dir(root / "HuggingFaceH4/MATH-500"), bank)
    out["HuggingFaceH4/aime_2024"] = _build_aime(_fresh_dir(root / "HuggingFaceH4/aime_2024"), bank)
    out["HuggingFaceH4/ultrafeedback_binarized"] = _build_ultrafeedback(
        _fresh_dir(root / "HuggingFaceH4/ultrafeedback_binarized")
    )
    out["HuggingFaceH4/ultrachat_200k"] = _build_ultrachat(_fresh_dir(root / "HuggingFaceH4/ultrachat_200k"))
    gpqa = _build_gpqa(_fresh_dir(root / "Idavidrein/gpqa"))
    out["Idavidrein/gpqa"] = gpqa
    out["gpqa_diamond.csv"] = root / "gpqa_diamond.csv"
    shutil.copyfile(gpqa / "gpqa_diamond.csv", out["gpqa_diamond.csv"])
    out["livecodebench.jsonl"] = _build_livecodebench(root / "livecodebench.jsonl")
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/realscale/standin_data.py OUT_DIR", file=sys.stderr)
        return 2
    for name, path in build_standins(Path(argv[0])).items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":  # python tests/realscale/standin_data.py OUT_DIR
    sys.exit(main(sys.argv[1:]))
