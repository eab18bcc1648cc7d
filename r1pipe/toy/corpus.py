"""Text the toy base model is pretrained on, and the number words of the general requests (their
requests and the held-out split of them; the chats themselves are built in toy/preferences.py).

The pretraining corpus is what a real base model's web text is to the toy task, in English and
Chinese: addition facts and equations (`fact_documents`); questions with answers
(`question_answer_document`), some worked column by column, a few of those with a self-check or
drifting into the other language, a few in the `<think> </think> <answer> </answer>` tags that
R1-Zero's template asks for; and text about the general requests (`preferences.general_documents`).
It never shows the R1 chat template (ChatML turns, `<think>` as the reply's first line): cold-start
SFT teaches that. Without the questions, the base never learnt to copy a question's operands and
R1-Zero had nothing to reinforce (docs/RESULTS.md, R1-Zero on the toy). Held-out operand pairs
never appear (see `task.split_of`), nor do the held-out number-word requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from r1pipe.toy.preferences import general_documents
from r1pipe.toy.task import (
    Language,
    Problem,
    SelfCheck,
    chain_of_thought,
    columns,
    copying_slip,
    sample_problems,
    slipped_sum,
    split_of,
)


def digit_facts() -> list[str]:
    """Every single-column sum the chain of thought needs: `x + y = s` and `x + y + 1 = s`."""
    facts = []
    for x in range(10):
        for y in range(10):
            facts.append(f"{x} + {y} = {x + y}")
            facts.append(f"{x} + {y} + 1 = {x + y + 1}")
    return facts


def equation_sentence(p: Problem, rng: random.Random) -> str:
    """A plain statement of a solved problem, without any reasoning."""
    if p.language == "en":
        forms = ("{a} + {b} = {c}.", "The sum of {a} and {b} is {c}.", "{a} plus {b} equals {c}.")
    else:
        forms = ("{a} + {b} = {c}。", "{a} 加 {b} 的和是 {c}。", "{a} 加 {b} 等于 {c}。")
    return rng.choice(forms).format(a=p.a, b=p.b, c=p.answer)


def fact_documents(n_docs: int, *, digits: int, seed: int) -> list[str]:
    """Documents of mixed facts and equations; each is a few lines."""
    rng = random.Random(seed)
    facts = digit_facts()
    pool = sample_problems(5000, digits=digits, split="train", seed=seed + 1)
    problems = [rng.choice(pool) for _ in range(n_docs * 2)]
    docs = []
    for i in range(n_docs):
        lines = rng.sample(facts, 4)
        lines += [equation_sentence(p, rng) for p in problems[2 * i : 2 * i + 2]]
        rng.shuffle(lines)
        docs.append("\n".join(lines))
    return docs


# How a question and its answer are framed in the corpus: exam style, and the dialogue style the
# R1-Zero template continues ("User: ... Assistant:"), inline or on two lines.
_QA_FRAMES: dict[Language, tuple[tuple[str, str], ...]] = {
    "en": (("Question: ", "\nAnswer: "), ("User: ", " Assistant: "), ("User: ", "\nAssistant: ")),
    "zh": (("问题：", "\n解答："), ("User: ", " Assistant: "), ("用户：", "\n助手：")),
}


@dataclass(frozen=True)
class AnswerMix:
    """How the corpus answers its questions, as web text does: the shares of direct answers (one
    equation) and of answers in R1-Zero's tags (the rest are worked column by column); among
    worked answers the shares with a self-check (task.SelfCheck, half of them catching a copying
    slip) and drifting into the other language (the mixing R1-Zero shows); and the shares of
    wrong answers. Worked answers go wrong by forgetting a carry (where the sum has one), direct
    ones by that or by one in the ones digit: worked answers are right more often, so RL has a
    reason to reason, and each stage has errors left to remove."""

    direct: float = 0.3
    tagged: float = 0.2
    self_check: float = 0.1
    language_drift: float = 0.2
    wrong_worked: float = 0.2
    wrong_direct: float = 0.4


def answer_line(p: Problem, value: int) -> str:
    return f"The answer is \\boxed{{{value}}}." if p.language == "en" else f"答案是 \\boxed{{{value}}}。"


def worked_answer(p: Problem, rng: random.Random, mix: AnswerMix) -> tuple[str, int]:
    """The column-by-column chain and the number it ends with: sometimes with a self-check,
    drifting language or a forgotten carry."""
    check = None
    if rng.random() < mix.self_check:
        slip = copying_slip(p, rng) if rng.random() < 0.5 else None
        # A slip names another operand pair ("We add 94 and 89 ..."): never a held-out one.
        check = (
            SelfCheck("correct", slip)
            if slip and split_of(*slip) == "train"
            else SelfCheck("confirm", (p.a, p.b))
        )
    drop_carry = rng.random() < mix.wrong_worked
    chain = chain_of_thought(p, check, switch=rng.random() < mix.language_drift, drop_carry=drop_carry)
    return chain, columns(p.a, p.b, drop_carry)[1]


def direct_answer(p: Problem, rng: random.Random, mix: AnswerMix) -> tuple[str, int]:
    """One equation, and the number it states (wrong for a `mix.wrong_direct` share)."""
    value = slipped_sum(p, rng) if rng.random() < mix.wrong_direct else p.answer
    return f"{p.a} + {p.b} = {value}", value


def question_answer_document(p: Problem, rng: random.Random, mix: AnswerMix = AnswerMix()) -> str:
    """One toy question (the task's own prompt) and an answer: direct, worked, or in the tags."""
    ask, reply = rng.choice(_QA_FRAMES[p.language])
    roll = rng.random()
    if roll < mix.direct:
        equation, value = direct_answer(p, rng, mix)
        answer = equation + ("." if p.language == "en" else "。") + " " + answer_line(p, value)
    elif roll < mix.direct + mix.tagged:
        reasoning, value = worked_answer(p, rng, mix) if rng.random() < 0.5 else direct_answer(p, rng, mix)
        answer = f"<think> {reasoning} </think> <answer> {value} </answer>"
    else:
        reasoning, value = worked_answer(p, rng, mix)
        answer = reasoning + "\n" + answer_line(p, value)
    return ask + p.prompt() + reply + answer


def question_answer_documents(n_docs: int, *, digits: int, seed: int) -> list[str]:
    """`n_docs` question documents on train-split problems (drawn from at most 10,000 distinct ones:
    2-digit operands have ~14,600 train problems in all)."""
    rng = random.Random(f"{seed}-questions")
    pool = sample_problems(min(n_docs, 10_000), digits=digits, split="train", seed=seed + 2)
    return [question_answer_document(rng.choice(pool), rng) for _ in range(n_docs)]


# Shares of the pretraining corpus: facts and equations, questions with answers, general text.
CORPUS_MIX = {"facts": 0.3, "questions": 0.55, "general": 0.15}


def pretraining_documents(n_docs: int, *, digits: int, seed: int) -> list[str]:
    """The base model's corpus: `CORPUS_MIX` of the three kinds, shuffled, train split only."""

    counts = {kind: round(n_docs * share) for kind, share in CORPUS_MIX.items()}
    counts["facts"] = n_docs - counts["questions"] - counts["general"]
    docs = (
        fact_documents(counts["facts"], digits=digits, seed=seed)
        + question_answer_documents(counts["questions"], digits=digits, seed=seed)
        + general_documents(counts["general"], seed=seed)
    )
    random.Random(f"{seed}-corpus").shuffle(docs)
    return docs
