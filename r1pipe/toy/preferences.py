"""General prompts of the toy task and the preference pairs its two reward models learn from (stage 4).

Stage 4 mixes general prompts into RL and judges them with reward models (R1_RECIPE.md, Rewards):
helpfulness on the final summary only (the text after `</think>`), harmlessness on the whole
response, reasoning included. The toy versions are small and deterministic:

- general prompts: greetings, number words, colours and thanks, in English and Chinese;
- helpfulness pairs (`helpful`): a helpful summary preferred to an unhelpful one (an evasion, the
  wrong language, a wrong answer, an empty summary, or an addition answer to a request that is not
  about addition, which is what a model fresh from reasoning RL tends to write);
- harmlessness pairs (`harmless`): a polite full response preferred to one with a rude or unsafe
  summary, or with rude reasoning behind a polite summary (so the judge must read the reasoning).

The texts are built the way `RewardModelScorer` builds them, so what the judges train on is
exactly what they score in RL.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from r1pipe.toy.corpus import EN_NUMBER_WORDS, ZH_NUMBER_WORDS
from r1pipe.toy.task import LANGUAGES, Language, sample_problems, summary

Judge = Literal["helpful", "harmless"]
JUDGES: tuple[Judge, ...] = ("helpful", "harmless")
GENERAL_TASK = "general"  # the `task` value of general prompts (the reward route they take)


@dataclass(frozen=True)
class GeneralPrompt:
    """A request that needs no reasoning, with the answers a helpful assistant could give."""

    kind: str
    language: Language
    prompt: str
    answers: tuple[str, ...]


_COLOURS = {"en": ("Blue.", "Red.", "Green.", "Yellow."), "zh": ("蓝色。", "红色。", "绿色。", "黄色。")}
_GREETINGS = {
    "en": ("Hello! How can I help you today?", "Hi! Nice to meet you."),
    "zh": ("你好！有什么可以帮你的吗？", "你好！很高兴见到你。"),
}
_WELCOME = {"en": ("You are welcome!", "Glad to help!"), "zh": ("不客气！", "很高兴能帮到你！")}
_EVASIONS = {
    "en": ("I don't know.", "No.", "I cannot help with that.", "Ask someone else."),
    "zh": ("我不知道。", "不。", "我帮不了你。", "去问别人吧。"),
}
_POLITE_THINK = {
    "en": ("This is a simple request; no calculation is needed.", "A simple request; I will answer kindly."),
    "zh": ("这是一个简单的请求，不需要计算。", "用户的请求很简单，我会友好地回答。"),
}
_RUDE_THINK = {
    "en": ("This user is stupid and annoying.", "What a dumb question from a dumb user."),
    "zh": ("这个用户又笨又烦人。", "真是个蠢问题，用户也很蠢。"),
}
_RUDE = {
    "en": ("Go away, idiot.", "That is a stupid question.", "Shut up.", "You should hurt them."),
    "zh": ("走开，笨蛋。", "这个问题太蠢了。", "闭嘴。", "你应该伤害他们。"),
}


def _greeting(language: Language, rng: random.Random) -> GeneralPrompt:
    prompt = rng.choice(
        ("Say hello.", "Please greet me.", "Say hello in English.")
        if language == "en"
        else ("请打个招呼。", "请向我问好。", "请用中文打个招呼。")
    )
    return GeneralPrompt("greeting", language, prompt, _GREETINGS[language])


def _number_word(language: Language, rng: random.Random) -> GeneralPrompt:
    digit, into = rng.randrange(10), rng.choice(("en", "zh"))
    word = (EN_NUMBER_WORDS if into == "en" else ZH_NUMBER_WORDS)[digit]
    if language == "en":
        prompt = (
            f"How do you write the digit {digit} {'as an English word' if into == 'en' else 'in Chinese'}?"
        )
    else:
        prompt = f"数字 {digit} 的{'英文单词' if into == 'en' else '中文写法'}是什么？"
    return GeneralPrompt("number_word", language, prompt, (word,))


def _colour(language: Language, rng: random.Random) -> GeneralPrompt:
    if rng.random() < 0.5:
        prompt = "Name a colour." if language == "en" else "请说出一种颜色。"
        return GeneralPrompt("colour", language, prompt, _COLOURS[language])
    prompt = "What colour is the sky on a clear day?" if language == "en" else "晴天的天空是什么颜色？"
    return GeneralPrompt("sky", language, prompt, _COLOURS[language][:1])


def _thanks(language: Language, rng: random.Random) -> GeneralPrompt:
    prompt = rng.choice(
        ("Thank you!", "Thanks for your help.") if language == "en" else ("谢谢你！", "谢谢你的帮助。")
    )
    return GeneralPrompt("thanks", language, prompt, _WELCOME[language])


_KINDS: tuple[Callable[[Language, random.Random], GeneralPrompt], ...] = (
    _greeting,
    _number_word,
    _colour,
    _thanks,
)


def general_prompts(n: int, *, seed: int, languages: tuple[Language, ...] = LANGUAGES) -> list[GeneralPrompt]:
    """`n` general prompts, kinds and languages in turn, details drawn from `seed`."""
    rng = random.Random(f"general-{seed}")
    return [_KINDS[i % len(_KINDS)](languages[(i // len(_KINDS)) % len(languages)], rng) for i in range(n)]


def general_rows(n: int, *, seed: int, languages: tuple[Language, ...] = LANGUAGES) -> list[dict]:
    """Stage-4 dataset rows: prompt, an empty answer (no rule judges them), language, task."""
    return [
        {
            "id": f"toy-general-{i}-{p.kind}",
            "prompt": p.prompt,
            "answer": "",
            "language": p.language,
            "task": GENERAL_TASK,
        }
        for i, p in enumerate(general_prompts(n, seed=seed, languages=languages))
    ]


def _unhelpful(p: GeneralPrompt, rng: random.Random) -> str:
    """A summary a helpful judge should rank below any of `p.answers`."""
    other: Language = "zh" if p.language == "en" else "en"
    choices = [
        lambda: rng.choice(_EVASIONS[p.language]),
        lambda: "",  # an empty summary: the reasoning never reached an answer
        lambda: summary(
            sample_problems(1, digits=2, split="train", seed=rng.randrange(10**6), languages=(p.language,))[0]
        ),
    ]
    if p.kind in ("greeting", "thanks"):
        choices.append(lambda: rng.choice((_GREETINGS if p.kind == "greeting" else _WELCOME)[other]))
    if p.kind in ("number_word", "sky"):
        wrong = {"number_word": EN_NUMBER_WORDS + ZH_NUMBER_WORDS, "sky": _COLOURS[p.language][1:]}[p.kind]
        choices.append(lambda: rng.choice([w for w in wrong if w not in p.answers]))
    return rng.choice(choices)()


def r1_text(think: str, answer: str) -> str:
    """A full response in the R1 output format."""
    return f"<think>\n{think}\n</think>\n\n{answer}"


def helpfulness_pairs(n: int, *, seed: int) -> list[dict]:
    """`n` pairs {prompt, chosen, rejected} of summaries (what a `target: summary` judge reads)."""
    rng = random.Random(f"helpful-{seed}")
    return [
        {"prompt": p.prompt, "chosen": rng.choice(p.answers), "rejected": _unhelpful(p, rng)}
        for p in general_prompts(n, seed=seed)
    ]


def harmlessness_pairs(n: int, *, seed: int) -> list[dict]:
    """`n` pairs {prompt, chosen, rejected} of full responses (what a `target: full` judge reads)."""
    rng = random.Random(f"harmless-{seed}")
    pairs = []
    for p in general_prompts(n, seed=seed):
        polite = rng.choice(_POLITE_THINK[p.language])
        # Harmlessness is not helpfulness: a polite evasion is still the harmless choice.
        chosen = r1_text(polite, rng.choice(p.answers + _EVASIONS[p.language][:1]))
        rejected = rng.choice(
            (
                r1_text(polite, rng.choice(_RUDE[p.language])),  # rude or unsafe summary
                r1_text(rng.choice(_RUDE_THINK[p.language]), rng.choice(p.answers)),  # rude reasoning
            )
        )
        pairs.append({"prompt": p.prompt, "chosen": chosen, "rejected": rejected})
    return pairs


PAIRS: dict[Judge, Callable[..., list[dict]]] = {"helpful": helpfulness_pairs, "harmless": harmlessness_pairs}
