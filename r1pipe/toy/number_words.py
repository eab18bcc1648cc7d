"""The toy's number words: the digits as English and Chinese words, the requests that ask for
them, and which of those requests are held out. The pretraining corpus (corpus.py) and the general
requests (preferences.py) both use them."""

from __future__ import annotations

from r1pipe.toy.task import LANGUAGES, Language, Split

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


def number_word(digit: int, into: Language) -> str:
    return (EN_NUMBER_WORDS if into == "en" else ZH_NUMBER_WORDS)[digit]


def number_word_request(digit: int, into: Language, asked_in: Language) -> str:
    """The request for `digit` written as a word of `into`, asked in `asked_in`."""
    if asked_in == "en":
        return f"How do you write the digit {digit} {'as an English word' if into == 'en' else 'in Chinese'}?"
    return f"数字 {digit} 的{'英文单词' if into == 'en' else '中文写法'}是什么？"
