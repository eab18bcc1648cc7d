"""Text the toy base model is pretrained on, and the number words of the general requests (their
requests and the held-out split of them; the chats themselves are built in toy/preferences.py).

The pretraining corpus teaches the domain (single-digit addition facts with and without a carry,
and whole equations stated in English and Chinese) but never the reasoning format: no chat
template, no `<think>`, no column-by-column walk-through. Cold-start SFT has to teach those.
Held-out operand pairs never appear (see `task.split_of`).
"""

from __future__ import annotations

import random

from r1pipe.toy.task import LANGUAGES, Language, Problem, Split, sample_problems

EN_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_NUMBER_WORDS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")


def number_word_split(digit: int, into: Language, asked_in: Language) -> Split:
    """Which split a number-word request belongs to ("the digit `digit` as a word of `into`, asked
    in `asked_in`"). For the even digits one of the two asking languages is held out, alternating,
    so a quarter of the 40 requests never appear in training (stage 3's chats, stage 4's general
    prompts), and every word is still taught, asked in the other language: the held-out requests
    measure the same skill asked the other way (eval.suite.general)."""
    if digit % 2:
        return "train"
    held_out: Language = LANGUAGES[(digit // 2 + (into == "zh")) % 2]
    return "heldout" if asked_in == held_out else "train"


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


def pretraining_documents(n_docs: int, *, digits: int, seed: int) -> list[str]:
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


def number_word(digit: int, into: Language) -> str:
    return (EN_NUMBER_WORDS if into == "en" else ZH_NUMBER_WORDS)[digit]


def number_word_request(digit: int, into: Language, asked_in: Language) -> str:
    """The request for `digit` written as a word of `into`, asked in `asked_in`."""
    if asked_in == "en":
        return f"How do you write the digit {digit} {'as an English word' if into == 'en' else 'in Chinese'}?"
    return f"数字 {digit} 的{'英文单词' if into == 'en' else '中文写法'}是什么？"
