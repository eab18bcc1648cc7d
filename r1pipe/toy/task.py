"""The embedded toy reasoning task: multi-digit addition, asked in English or Chinese.

The chain of thought works column by column (ones, tens, ...), so a tiny model only needs the
single-digit facts it saw in pretraining plus the procedure the cold-start data teaches. Every
problem is verifiable (the reference answer is an integer), and every prompt carries its language,
so language consistency of the chain of thought is measurable.

A minority of cold-start chains can carry a self-check (`plan_self_checks`): right after the
opening line the reasoning re-reads the question's operands ("Wait, check the question: ..." /
"等等，检查题目：..."). In some of them the opening line had copied an operand wrongly
(`copying_slip`, the toy's most common error) and the check catches it and redoes the sum with
the right operands. The aim is the paper's "aha" dynamics in stage 2 (reflective words and length
rising with accuracy). With the current base the stage-1 model no longer miscopies operands; its
errors are in the columns, so a check can instead re-add one column right after its line
(`ColumnCheck`, `data.toy.self_check_target=column`): "Wait, check: 3 + 8 + 1 = 12, not 11.
Write 2, carry 1." GRPO drops both kinds (docs/RESULTS.md): a check by the same route, with the
same weights, is no more reliable than what it checks. What works is a check by another route
(`Rework`, `self_check_target=rework`, experiment=toy_aha): chains open with a direct answer,
which this model often gets wrong, and a minority then work the sum out column by column; RL
makes every answer check, and accuracy and length rise with it. `self_check_fraction` is off by
default.

Cold-start chains can also switch to the other language after their opening line
(`plan_language_switches`, `data.toy.language_switch_fraction`), for the language-reward
ablation; measured at 0.3 and 0.1 it costs stage 1 most of its accuracy (docs/RESULTS.md).

Splits are fixed by a hash of the operand pair, not by sampling order, so the held-out pairs never
appear in the pretraining corpus, the cold-start set or the RL prompts, whatever the sizes asked.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Literal

Language = Literal["en", "zh"]
Split = Literal["train", "heldout"]

LANGUAGES: tuple[Language, ...] = ("en", "zh")
# The held-out share the shipped toy base was pretrained around (its corpus avoids these pairs).
PRETRAIN_HELDOUT_FRACTION = 0.1

_EN_PROMPTS = (
    "What is {a} + {b}?",
    "Compute {a} + {b}.",
    "Add {a} and {b}.",
    "What is the sum of {a} and {b}?",
)
_ZH_PROMPTS = (
    "{a} + {b} 等于多少？",
    "计算 {a} + {b}。",
    "把 {a} 和 {b} 相加。",
    "{a} 与 {b} 的和是多少？",
)
_EN_COLUMNS = ("Ones", "Tens", "Hundreds", "Thousands", "Ten-thousands")
_ZH_COLUMNS = ("个位", "十位", "百位", "千位", "万位")


@dataclass(frozen=True)
class Problem:
    """One addition problem in one language."""

    a: int
    b: int
    language: Language
    template: int

    @property
    def answer(self) -> int:
        return self.a + self.b

    @property
    def uid(self) -> str:
        return f"toy-{self.a}-{self.b}-{self.language}-{self.template}"

    def prompt(self) -> str:
        templates = _EN_PROMPTS if self.language == "en" else _ZH_PROMPTS
        text = templates[self.template % len(templates)].format(a=self.a, b=self.b)
        suffix = (
            " Put the final answer in \\boxed{}."
            if self.language == "en"
            else " 请把最终答案写在 \\boxed{} 中。"
        )
        return text + suffix


def split_of(a: int, b: int, heldout_fraction: float = PRETRAIN_HELDOUT_FRACTION) -> Split:
    """Held-out or train, fixed by a hash of the (unordered) pair: 47+38 and 38+47 share a split."""
    lo, hi = sorted((a, b))
    digest = hashlib.sha256(f"{lo}+{hi}".encode()).digest()
    bucket = int.from_bytes(digest[:4], "big") / 2**32
    return "heldout" if bucket < heldout_fraction else "train"


def sample_problems(
    n: int,
    *,
    digits: int,
    split: Split,
    seed: int,
    languages: tuple[Language, ...] = LANGUAGES,
    heldout_fraction: float = PRETRAIN_HELDOUT_FRACTION,
) -> list[Problem]:
    """`n` distinct problems of the given split, operands with exactly `digits` digits."""
    rng = random.Random(f"{seed}-{split}-{digits}")
    lo, hi = 10 ** (digits - 1), 10**digits - 1
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    capacity = (hi - lo + 1) ** 2 * len(languages)
    while len(problems) < n:
        if len(seen) >= capacity:
            raise ValueError(f"only {len(problems)} {split} problems exist with {digits} digits; asked {n}")
        a, b = rng.randint(lo, hi), rng.randint(lo, hi)
        language = languages[rng.randrange(len(languages))]
        key = (a, b, language)
        if key in seen:
            continue
        seen.add(key)
        if split_of(a, b, heldout_fraction) != split:
            continue
        problems.append(Problem(a, b, language, rng.randrange(4)))
    return problems


@dataclass(frozen=True)
class SelfCheck:
    """A re-reading of the question's operands after the opening line. `confirm`: the opening
    line had them right. `correct`: it had copied `written` instead, and the check redoes the sum."""

    kind: Literal["confirm", "correct"]
    written: tuple[int, int]


@dataclass(frozen=True)
class ColumnCheck:
    """A re-addition of one column right after its line (`data.toy.self_check_target=column`).
    `slip` None: the line was right and the check confirms it. Otherwise the line had added the
    column to `slip` (its total off by one, the toy's commonest error: a column sum or a carry,
    measured on the stage-1 model), and the check finds the right total and writes it instead."""

    column: int
    slip: int | None = None


@dataclass(frozen=True)
class Rework:
    """`data.toy.self_check_target=rework`: the chain opens with a direct answer, `guess` (a
    mental sum). `worked`: it then checks by working the sum column by column ("Wait, let me work
    it out column by column."), and the worked result stands, correcting a wrong guess. Unworked
    chains stop at the guess. A direct answer is the one this model gets wrong (its errors are in
    column sums and carries, which a guess makes all at once), so a check by another, longer route
    pays in RL: the paper's reflection and length growing with accuracy."""

    guess: int
    worked: bool


def slipped_sum(p: Problem, rng: random.Random) -> int:
    """A wrong direct answer, as a mental sum goes wrong: a forgotten carry (where the sum has one,
    half the time) or off by one in the ones digit."""
    dropped = columns(p.a, p.b, drop_carry=True)[1]
    return dropped if dropped != p.answer and rng.random() < 0.5 else p.answer + rng.choice((-1, 1))


def copying_slip(p: Problem, rng: random.Random) -> tuple[int, int]:
    """The operands with one digit of one of them miscopied (same number of digits)."""
    operands = [p.a, p.b]
    which = rng.randrange(2)
    digits = list(str(operands[which]))
    position = rng.randrange(len(digits))
    choices = [d for d in "0123456789" if d != digits[position] and not (position == 0 and d == "0")]
    digits[position] = rng.choice(choices)
    operands[which] = int("".join(digits))
    return operands[0], operands[1]


def plan_self_checks(
    problems: list[Problem],
    fraction: float,
    slip_fraction: float,
    seed: int,
    target: Literal["operands", "column", "rework"] = "operands",
) -> list[SelfCheck | ColumnCheck | Rework | None]:
    """For each problem a self-check or None: about `fraction` of them check, and about
    `slip_fraction` of those catch a slip: a miscopied operand in the opening line (`operands`),
    a column added wrongly (`column`, one column drawn at random) or a wrong direct answer
    (`rework`: every chain opens with a direct answer, right where it is not checked)."""
    rng = random.Random(f"{seed}-self-check")
    plan: list[SelfCheck | ColumnCheck | Rework | None] = []
    for p in problems:
        if rng.random() >= fraction:
            plan.append(Rework(p.answer, worked=False) if target == "rework" else None)
            continue
        slip = rng.random() < slip_fraction
        if target == "rework":
            plan.append(Rework(slipped_sum(p, rng) if slip else p.answer, worked=True))
        elif target == "column":
            cols, _ = columns(p.a, p.b)
            at = rng.randrange(len(cols))
            total = cols[at].total
            plan.append(
                ColumnCheck(at, rng.choice([t for t in (total - 1, total + 1) if t >= 0]) if slip else None)
            )
        elif slip:
            plan.append(SelfCheck("correct", copying_slip(p, rng)))
        else:
            plan.append(SelfCheck("confirm", (p.a, p.b)))
    return plan


def check_line(p: Problem, check: SelfCheck) -> str:
    """The self-check sentence, in the prompt's language (short: every token is generated in RL)."""
    wa, wb = check.written
    if p.language == "en":
        head = f"Wait, check the question: {p.a} + {p.b}"
        return f"{head}. Yes." if check.kind == "confirm" else f"{head}, not {wa} + {wb}. Redo."
    head = f"等等，检查题目：{p.a} + {p.b}"
    return f"{head}，没错。" if check.kind == "confirm" else f"{head}，不是 {wa} + {wb}，重新算。"


@dataclass(frozen=True)
class Column:
    """One column of the written addition: its two digits, the carry in, the total, the digit
    written and the carry out."""

    x: int
    y: int
    carry_in: int
    total: int
    digit: int
    carry_out: int


def columns(a: int, b: int, drop_carry: bool = False) -> tuple[list[Column], int]:
    """The columns of `a + b`, ones first, and the number they write. `drop_carry`: the first carry
    is forgotten (not written, not added to the next column), the slip a worked answer on the web
    sometimes has (corpus.py); the number written is then wrong."""
    da, db = str(a)[::-1], str(b)[::-1]
    carry, cols = 0, []
    for i in range(max(len(da), len(db))):
        x, y = int(da[i]) if i < len(da) else 0, int(db[i]) if i < len(db) else 0
        total = x + y + carry
        digit, carry_out = total % 10, total // 10
        if drop_carry and carry_out:
            carry_out, drop_carry = 0, False
        cols.append(Column(x, y, carry, total, digit, carry_out))
        carry = carry_out
    written = "".join(str(c.digit) for c in reversed(cols))
    return cols, int(f"{carry}{written}" if carry else written)


def _terms(c: Column) -> str:
    return f"{c.x} + {c.y}" + (f" + {c.carry_in}" if c.carry_in else "")


def _write(total: int, language: Language) -> str:
    """What a column adding up to `total` writes: "Write 2, carry 1." / "写 2，进 1。"."""
    digit, carry = total % 10, total // 10
    if language == "en":
        return f"Write {digit}, carry {carry}." if carry else f"Write {digit}."
    return f"写 {digit}，进 {carry}。" if carry else f"写 {digit}。"


def _column_line(c: Column, i: int, total: int, language: Language) -> str:
    """A column's line, adding up to `total` (the right total, or a slip's)."""
    if language == "en":
        return f"{_EN_COLUMNS[i]}: {_terms(c)} = {total}. {_write(total, language)}"
    return f"{_ZH_COLUMNS[i]}：{_terms(c)} = {total}，{_write(total, language)}"


def column_check_line(c: Column, check: ColumnCheck, language: Language) -> str:
    """The re-addition after a column's line: "Wait, check: 9 + 9 + 1 = 19. Yes." or, after a
    slip, "Wait, check: 9 + 9 + 1 = 19, not 18. Write 9, carry 1." (the line to go on from)."""
    if language == "en":
        if check.slip is None:
            return f"Wait, check: {_terms(c)} = {c.total}. Yes."
        return f"Wait, check: {_terms(c)} = {c.total}, not {check.slip}. {_write(c.total, language)}"
    if check.slip is None:
        return f"等等，检查：{_terms(c)} = {c.total}，没错。"
    return f"等等，检查：{_terms(c)} = {c.total}，不是 {check.slip}。{_write(c.total, language)}"


def rework_chain(p: Problem, rework: Rework, switch: bool = False) -> str:
    """A direct answer, and where it is checked the column-by-column work after it (`Rework`)."""
    guess = f"{p.a} + {p.b} = {rework.guess}" + ("." if p.language == "en" else "。")
    if not rework.worked:
        return guess
    turn = "Wait, let me work it out column by column." if p.language == "en" else "等等，我逐位重新算一遍。"
    return "\n".join([guess, turn, chain_of_thought(p, switch=switch)])


def chain_of_thought(
    p: Problem,
    check: SelfCheck | ColumnCheck | Rework | None = None,
    switch: bool = False,
    drop_carry: bool = False,
) -> str:
    """The readable, column-by-column reasoning for one problem, in the prompt's language, with
    the self-check after the opening line where one is given. `switch`: after the opening line
    the reasoning goes on in the other language, the mixing R1-Zero showed (language_switch).
    `drop_carry`: the chain forgets its first carry (`columns`), so its result is wrong."""
    if isinstance(check, Rework):
        return rework_chain(p, check, switch)
    other: Language = "zh" if p.language == "en" else "en"
    body = other if switch else p.language
    cols, result = columns(p.a, p.b, drop_carry)
    column_check = check if isinstance(check, ColumnCheck) else None
    lines = []
    for i, c in enumerate(cols):
        if column_check is None or column_check.column != i:
            lines.append(_column_line(c, i, c.total, body))
            continue
        slip = c.total if column_check.slip is None else column_check.slip
        lines += [_column_line(c, i, slip, body), column_check_line(c, column_check, body)]
    if cols[-1].carry_out:
        carry = cols[-1].carry_out
        lines.append(f"The last carry gives {carry}." if body == "en" else f"最后的进位是 {carry}。")
    operand_check = check if isinstance(check, SelfCheck) else None
    wa, wb = operand_check.written if operand_check else (p.a, p.b)
    head = (
        f"We add {wa} and {wb} column by column, starting from the ones."
        if p.language == "en"
        else f"从个位开始，逐位把 {wa} 和 {wb} 相加。"
    )
    foot = (
        f"Reading the written digits from the left: {result}."
        if body == "en"
        else f"从左往右读出写下的数字：{result}。"
    )
    checked = [check_line(p, operand_check)] if operand_check else []
    return "\n".join([head, *checked, *lines, foot])


def plan_language_switches(problems: list[Problem], fraction: float, seed: int) -> list[bool]:
    """For each problem whether its cold-start chain switches language after the opening line
    (about `fraction` of them): data.toy.language_switch_fraction."""
    rng = random.Random(f"{seed}-language-switch")
    return [rng.random() < fraction for _ in problems]


def summary(p: Problem) -> str:
    """The short answer after `</think>`, with the final answer boxed."""
    if p.language == "en":
        return f"The sum of {p.a} and {p.b} is \\boxed{{{p.answer}}}."
    return f"{p.a} 加 {p.b} 的和是 \\boxed{{{p.answer}}}。"


def r1_response(
    p: Problem, check: SelfCheck | ColumnCheck | Rework | None = None, switch: bool = False
) -> str:
    """The full assistant turn in the R1 output format: `<think>\\n...\\n</think>\\n\\nsummary`."""
    return f"<think>\n{chain_of_thought(p, check, switch)}\n</think>\n\n{summary(p)}"
