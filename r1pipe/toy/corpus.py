"""Text the toy base model is pretrained on, and the non-reasoning chat examples for stage 3.

The pretraining corpus teaches the domain (single-digit addition facts with and without a carry,
and whole equations stated in English and Chinese) but never the reasoning format: no chat
template, no `<think>`, no column-by-column walk-through. Cold-start SFT has to teach those.
Held-out operand pairs never appear (see `task.split_of`).
"""

from __future__ import annotations

import random

from r1pipe.toy.task import LANGUAGES, Problem, sample_problems

EN_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_NUMBER_WORDS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")


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


def non_reasoning_examples(n: int, *, seed: int) -> list[dict]:
    """Simple chat turns that need no reasoning (number words, greetings, echoing), both languages.

    Stage 3 mixes these into its SFT set, as the paper mixes writing and factual QA. Their
    reasoning block is one short sentence, so the R1 output format is kept everywhere.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        language = LANGUAGES[i % len(LANGUAGES)]
        digit = rng.randrange(10)
        kind = rng.randrange(3)
        if language == "en":
            prompt, answer = [
                (f"How do you write the digit {digit} as an English word?", EN_NUMBER_WORDS[digit]),
                (f"How do you write the digit {digit} in Chinese?", ZH_NUMBER_WORDS[digit]),
                ("Say hello.", "Hello! How can I help you today?"),
            ][kind]
            think = "This is a simple request; no calculation is needed."
        else:
            prompt, answer = [
                (f"数字 {digit} 的中文写法是什么？", ZH_NUMBER_WORDS[digit]),
                (f"数字 {digit} 的英文单词是什么？", EN_NUMBER_WORDS[digit]),
                ("请打个招呼。", "你好！有什么可以帮你的吗？"),
            ][kind]
            think = "这是一个简单的请求，不需要计算。"
        rows.append(
            {
                "id": f"toy-general-{i}",
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": f"<think>\n{think}\n</think>\n\n{answer}"},
                ],
                "language": language,
                "task": "general",
            }
        )
    return rows
