"""The generative judge: where rules cannot decide (the reference or the answer does not parse),
a local chat model compares the answer with the reference and says CORRECT or INCORRECT, as the
paper uses DeepSeek-V3 for such samples. Any Hugging Face chat model dir works; it is loaded with
its own chat template and decodes greedily.
"""

from __future__ import annotations

import logging

import regex
from omegaconf import DictConfig, OmegaConf

from r1pipe.generation import Sampling, open_engine
from r1pipe.rejection.store import Records
from r1pipe.rewards.answers import WithoutThinkEnd, extract_answer

log = logging.getLogger(__name__)

JUDGE_PROMPT = (
    "You check a student's answer against the reference answer.\n"
    "Question: {question}\n"
    "Reference answer: {reference}\n"
    "Student's answer: {answer}\n"
    "Is the student's answer equivalent to the reference answer? Reply with one word: CORRECT or INCORRECT."
)
_VERDICT = regex.compile(r"\b(INCORRECT|CORRECT)\b", regex.IGNORECASE)


def final_answer(text: str, without_think_end: WithoutThinkEnd = "no_answer") -> str:
    """What the judge compares: the final answer as the rule rewards read it (answers.py: the
    region after the last </think>), capped at 2,000 characters; "" when there is none, so an
    answer that appears only in the reasoning is never judged."""
    return (extract_answer(text, without_think_end) or "")[-2000:]


def judge_prompt(record: dict, without_think_end: WithoutThinkEnd = "no_answer") -> str:
    return JUDGE_PROMPT.format(
        question=record["prompt"],
        reference=record["answer"],
        answer=final_answer(record["text"], without_think_end),
    )


def parse_verdict(text: str) -> bool | None:
    """The judge's first verdict word: True for CORRECT, False for INCORRECT, None if neither."""
    found = _VERDICT.search(text)
    return None if found is None else found.group(1).upper() == "CORRECT"


def judge_samples(
    records: Records, judge: DictConfig, gen: DictConfig, without_think_end: WithoutThinkEnd = "no_answer"
) -> list[bool | None]:
    """One verdict per record from the judge model (None where its reply names no verdict; False,
    without asking, where the record has no final answer)."""
    model_cfg = OmegaConf.create(
        {"dtype": "auto", "chat_template": "model", "trust_remote_code": False, "attn_implementation": None}
    )
    judge_gen = OmegaConf.merge(gen, {"batch_size": judge.batch_size})
    assert isinstance(judge_gen, DictConfig)
    asked = [i for i, r in enumerate(records) if final_answer(r["text"], without_think_end)]
    verdicts: list[bool | None] = [False] * len(records)
    if asked:
        with open_engine(judge.model, model_cfg, judge_gen) as engine:
            replies = engine.generate(
                [judge_prompt(records[i], without_think_end) for i in asked],
                [f"{records[i]['prompt_id']}#{records[i]['sample_index']}" for i in asked],
                Sampling(n=1, temperature=0.0, max_tokens=judge.max_new_tokens),
            )
        for i, reply in zip(asked, replies, strict=True):
            verdicts[i] = parse_verdict(reply.text)
    log.info(
        "judge %s: %d samples, %d correct, %d incorrect, %d without a verdict",
        judge.model,
        len(verdicts),
        sum(v is True for v in verdicts),
        sum(v is False for v in verdicts),
        sum(v is None for v in verdicts),
    )
    return verdicts
