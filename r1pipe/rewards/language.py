"""Language consistency reward (R1_RECIPE.md, Rewards): the proportion of the chain of thought's
words that are in the target language.

Method, exact and ML-free wherever scripts tell languages apart:
1. The chain of thought is the reasoning inside `<think>` (format.split_think); when the format is
   broken, the text before the last `</think>`, else the whole completion.
2. Code and maths are not language, but only what really is code or maths is set aside, or
   wrapping English in a fence or in `$\\text{..}$` would hide it (language_view):
   - maths (`$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]`, math environments such as align or cases,
     `\\boxed{..}`) keeps its words: the content of `\\text{}` and its kin, and letter runs of 3+
     letters ("$This is prose$" keeps This and prose); variables and products (x, ab) go;
   - a closed fence, a code environment (verbatim, lstlisting, minted) or `inline code` is set
     aside only when it looks like code (half its lines have code syntax: operators, brackets, a
     trailing colon, a statement keyword; inline: one token or code syntax), and its comments
     stay as language; otherwise its content is text. An unclosed fence is text;
   - other environments (itemize...) are text, only their \\begin/\\end markers go;
   - set-aside code may be at most half of a CoT's words (MAX_EXCLUDED): past that the excess
     counts too, at the code's own share of target words, so a CoT written as code-like lines
     cannot hide its language.
   Known LaTeX command names (\\frac, \\alpha, \\text...: _LATEX_COMMANDS) and tags such as
   `<think>` are removed; an unknown command name ("\\First \\add") counts. URLs are set aside
   with code (under its cap).
   Digits, operators, punctuation and emoji are never words.
3. Words: each Han, kana or Hangul character is one word (those scripts do not separate words
   with spaces); in other scripts a word is a maximal run of letters of one script (an inner
   apostrophe kept: "don't" is one word). Not counted, as maths rather than language: single
   letters outside CJK (x, n, alpha), math function names (sin, log, max...), unit symbols (cm,
   kg, Hz) and all-capital Latin words of up to 4 letters (points and segments AB, ABCD;
   acronyms OK, GCD).
4. A word's script is its Unicode script. Words of a script no other candidate language uses
   are the target's if the script is the target's, else not: Chinese in an English CoT, English
   in a Chinese CoT, and kana in a Chinese CoT (kana is Japanese, not Chinese) are non-target
   with no ML at all.
5. Only where the target shares its script with another candidate (English and French, Russian
   and Ukrainian) does ML run: per sentence (short sentences merged with the next until 5
   words, as lingua is unreliable on one or two), lingua (lingua-language-detector, a detector
   for just those languages, built once per process and cached) names the language of the
   sentence's words in the target's scripts. They count as target when lingua says the target
   or cannot tell; words of other scripts never do.
6. Score = target words / counted words. A CoT with no countable word (only maths) scores 1.0:
   nothing in it is inconsistent. An unknown target language gives None; a missing one is the
   prompt's (target_language).

The candidate languages default to R1's own pair, ("en", "zh"), plus the row's target: with
them, and for any target whose script no other candidate shares, nothing but regexes runs. A run
that must tell same-script languages apart configures them: make_language_consistency(("en",
"fr", "de", "zh")). Han is counted for both zh and ja; with both as candidates lingua decides.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable

import regex

from r1pipe.rewards.answers import completion_text
from r1pipe.rewards.format import CLOSE, Prefilled, resolve_prefilled, split_think
from r1pipe.rewards.registry import RewardFn, register

log = logging.getLogger(__name__)

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "zh")

# ISO 639-1 code -> scripts whose words are that language's. These are lingua's languages, so
# any same-script pair can be handed to it.
# fmt: off
_LATIN_LANGUAGES = [
    "af", "az", "bs", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fr", "ga",
    "hr", "hu", "id", "is", "it", "la", "lg", "lt", "lv", "mi", "ms", "nb", "nl", "nn", "pl", "pt",
    "ro", "sk", "sl", "sn", "so", "sq", "st", "sv", "sw", "tl", "tn", "tr", "ts", "vi", "xh", "yo",
    "zu",
]
# fmt: on
SCRIPTS: dict[str, tuple[str, ...]] = {
    **{code: ("Latin",) for code in _LATIN_LANGUAGES},
    **{code: ("Cyrillic",) for code in ["be", "bg", "kk", "mk", "mn", "ru", "sr", "uk"]},
    **{code: ("Arabic",) for code in ["ar", "fa", "ur"]},
    **{code: ("Devanagari",) for code in ["hi", "mr"]},
    "zh": ("Han",),
    "ja": ("Han", "Kana"),
    "ko": ("Hangul",),
    "el": ("Greek",),
    "he": ("Hebrew",),
    "th": ("Thai",),
    "ka": ("Georgian",),
    "hy": ("Armenian",),
    "bn": ("Bengali",),
    "ta": ("Tamil",),
    "te": ("Telugu",),
    "gu": ("Gujarati",),
    "pa": ("Gurmukhi",),
}

_CJK = {
    "Han": r"\p{Han}",
    "Kana": r"[\p{Hiragana}\p{Katakana}\N{KATAKANA-HIRAGANA PROLONGED SOUND MARK}]",
    "Hangul": r"\p{Hangul}",
}
# fmt: off
_RUN_SCRIPTS = [
    "Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Thai", "Georgian",
    "Armenian", "Bengali", "Tamil", "Telugu", "Gujarati", "Gurmukhi",
]
# fmt: on
_KNOWN = "".join(rf"\p{{{s}}}" for s in ("Han", "Hiragana", "Katakana", "Hangul", *_RUN_SCRIPTS))
_WORD = regex.compile(
    "|".join(
        [f"(?P<{name}>{pattern})" for name, pattern in _CJK.items()]
        + [rf"(?P<{s}>\p{{{s}}}[\p{{{s}}}\p{{M}}]*(?:['’]\p{{{s}}}+)*)" for s in _RUN_SCRIPTS]
        + [rf"(?P<Other>[\p{{L}}--[{_KNOWN}]][\p{{L}}\p{{M}}--[{_KNOWN}]]*)"]
    ),
    regex.V1,
)
# What may be no language, found in one pass (the earliest match wins; fences before inline code
# and maths, so a `$` inside code stays code). Only closed regions: an unclosed fence or `$` is text.
_REGION = regex.compile(
    r"(?P<fence>```[^\n]*\n.*?```|~~~[^\n]*\n.*?~~~)"
    r"|(?P<code_env>\\begin\{(?P<cenv>verbatim|Verbatim|lstlisting|minted|code)\}.*?\\end\{(?P=cenv)\})"
    r"|(?P<math_env>\\begin\{(?P<menv>(?:equation|align|alignat|flalign|gather|multline|eqnarray|displaymath|math"
    r"|split|cases|array|[pbvBV]?matrix|smallmatrix|aligned|gathered)\*?)\}.*?\\end\{(?P=menv)\})"
    r"|(?P<inline>`[^`\n]+`)"
    r"|(?P<url>https?://\S+)"
    r"|(?P<math>\$\$.+?\$\$|\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\boxed(?P<braces>\{(?:[^{}]|(?&braces))*\}))",
    regex.S,
)
# Markup that is never a word: \begin{itemize}/\end{..} markers (their content is text), LaTeX
# command names (braced arguments stay: \textbf{word} is a word) and tags (<think>). Only known
# command names go: "\First \I \add \the \ones" is English written as commands, and counts.
_MARKUP = regex.compile(r"\\(?:begin|end)\{[^}]*\}|\\(?P<command>[A-Za-z]+)\*?|</?[A-Za-z_]+>")
# fmt: off
_LATEX_COMMANDS = frozenset(["frac", "dfrac", "tfrac", "cfrac", "sqrt", "cdot", "cdots", "ldots", "dots", "vdots", "ddots", "times", "div", "pm", "mp", "le", "leq", "ge", "geq", "neq", "ne", "approx", "equiv", "sim", "simeq", "cong", "propto", "to", "rightarrow", "Rightarrow", "leftarrow", "Leftarrow", "leftrightarrow", "Leftrightarrow", "implies", "iff", "mapsto", "infty", "sum", "prod", "int", "iint", "oint", "lim", "limsup", "liminf", "log", "ln", "lg", "exp", "sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "max", "min", "sup", "inf", "gcd", "lcm", "det", "dim", "ker", "deg", "arg", "binom", "choose", "mod", "pmod", "bmod", "text", "textbf", "textit", "textrm", "textsf", "texttt", "mathrm", "mathbf", "mathbb", "mathcal", "mathit", "mathsf", "mathfrak", "boldsymbol", "operatorname", "emph", "mbox", "boxed", "fbox", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "middle", "quad", "qquad", "hline", "cline", "item", "label", "ref", "eqref", "cite", "tag", "nonumber", "notag", "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "varpi", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "partial", "nabla", "forall", "exists", "nexists", "in", "notin", "ni", "subset", "subseteq", "supset", "supseteq", "subsetneq", "cup", "cap", "bigcup", "bigcap", "setminus", "emptyset", "varnothing", "angle", "measuredangle", "triangle", "square", "circ", "degree", "perp", "parallel", "mid", "nmid", "overline", "underline", "hat", "widehat", "bar", "vec", "dot", "ddot", "tilde", "widetilde", "overrightarrow", "overleftarrow", "lfloor", "rfloor", "lceil", "rceil", "langle", "rangle", "vert", "Vert", "lvert", "rvert", "land", "lor", "lnot", "neg", "wedge", "vee", "oplus", "otimes", "odot", "star", "ast", "bullet", "prime", "therefore", "because", "colon", "Re", "Im", "ell", "hbar", "ll", "gg", "leqslant", "geqslant", "not", "stackrel", "overset", "underset", "xrightarrow", "cases", "hspace", "vspace", "newline", "par", "noindent", "centering", "color", "textcolor", "phantom", "underbrace", "overbrace", "checkmark", "dagger"])
# fmt: on
# Text inside maths: \text{...} and its kin hold words ("$5 \text{ apples}$").
_MATH_TEXT = regex.compile(r"\\(?:text|textrm|textit|textbf|textsf|texttt|mbox|intertext)\s*\{([^{}]*)\}")
_MATH_MIN_WORD = 3  # inside maths, shorter Latin runs are variables and products (ab, xy)
# A code line: operators/brackets, a trailing colon, or a statement keyword of a common language.
_CODE_LINE = regex.compile(
    r"[=(){}\[\];<>]|:\s*$|^\s*(?:def|class|import|from|return|for|while|if|elif|else|try|except|"
    r"with|pass|break|continue|print|int|void|public|private|static|const|let|var|function|fn|use|"
    r"package|func|struct|template|#include|#define)\b",
)
# A comment: text, not code ("# now add the tens" is language).
_COMMENT = regex.compile(r"(?:^|(?<=\s))(?:#(?!include|define|!)|//)[ \t]*(.*)$", regex.M)
MAX_EXCLUDED = 0.5  # at most this share of a CoT's words may be set aside as code


def language_view(text: str) -> tuple[str, str]:
    """(the text as language, the code set aside). Maths is reduced to its words: the content of
    \\text{} and its kin, and letter runs of 3+ letters ("$This is prose$" keeps This and prose;
    "$ab + \\sin x$" keeps nothing). A fenced block, code environment or `inline code` is set aside
    only when it looks like code (half its lines have code syntax; inline: one token or code
    syntax), and its comments stay as language. Everything else is language: an unclosed fence
    strips nothing, \\begin{itemize} content is text."""
    prose: list[str] = []
    code: list[str] = []
    last = 0
    for m in _REGION.finditer(text):
        prose.append(text[last : m.start()])
        last = m.end()
        kind, body = m.lastgroup, m.group()
        if m.group("math") is not None or m.group("math_env") is not None:
            prose.append(_math_words(body))
        elif m.group("url") is not None:
            code.append(body)  # set aside like code, under the same cap: a CoT cannot be all URL
        elif m.group("inline") is not None:
            inner = body[1:-1]
            (code if _CODE_LINE.search(inner) or not inner.strip().count(" ") else prose).append(inner)
        else:  # fence or code environment
            inner = body.split("\n", 1)[1] if kind != "code_env" else body
            comments = [c.group(1) for c in _COMMENT.finditer(inner)]
            if _looks_like_code(_COMMENT.sub("", inner)):
                prose.extend(comments)
                code.append(_COMMENT.sub("", inner))
            else:
                prose.append(inner)
    prose.append(text[last:])
    return _without_markup(" ".join(prose)), _without_markup(" ".join(code))


def _without_markup(text: str) -> str:
    return _MARKUP.sub(_markup_gap, text)


def _markup_gap(m: regex.Match) -> str:
    """A known command name, a marker or a tag becomes a space; an unknown command keeps its name."""
    command = m.group("command")
    return f" {command} " if command is not None and command not in _LATEX_COMMANDS else " "


def _math_words(body: str) -> str:
    texts = _MATH_TEXT.findall(body)
    rest = _without_markup(_MATH_TEXT.sub(" ", body))
    long_runs = [
        m.group() for m in _WORD.finditer(rest) if m.lastgroup in _CJK or len(m.group()) >= _MATH_MIN_WORD
    ]
    return " " + " ".join([*texts, *long_runs]) + " "


def _looks_like_code(block: str) -> bool:
    lines = [line for line in block.splitlines() if line.strip()]
    return bool(lines) and 2 * sum(bool(_CODE_LINE.search(line)) for line in lines) >= len(lines)


_SENTENCE_END = regex.compile(r"[.!?;。！？；\n]+")
_MIN_CHUNK = 5  # words handed to lingua at once, at least (sentences are merged to reach it)
# fmt: off
_MATH_WORDS = frozenset([
    "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan",
    "log", "ln", "lg", "exp", "lim", "max", "min", "argmax", "argmin", "mod", "gcd", "lcm",
    "det", "deg", "dx", "dy", "dz", "dt",
    # unit symbols, in any language's maths ("$5\\text{ cm}$", "3 kg"): no language
    "mm", "cm", "dm", "km", "mg", "kg", "ml", "dl", "hz", "khz", "mhz", "ghz", "mol", "kj", "kw",
    "kwh", "db", "ms", "ns", "mph", "kph", "rpm", "hr", "hrs", "ft", "yd", "lb", "lbs", "oz", "gal",
    "rad", "ev", "kev", "mev", "pa", "kpa", "atm", "kcal", "mah",
])
# fmt: on


def reasoning_of(text: str, prefilled: bool = False) -> str:
    """The reasoning inside <think>; if the format is broken, the text before the last </think>,
    else the whole text."""
    parts = split_think(text, prefilled)
    if parts is not None:
        return parts[0]
    return text.rsplit(CLOSE, 1)[0]


def words(text: str) -> list[tuple[str, str]]:
    """(script, word) for every countable word of `text` as language (see the module docstring,
    2-3): code set aside by language_view is not among them."""
    return _tokens(language_view(text)[0])


def _tokens(text: str) -> list[tuple[str, str]]:
    """(script, word) for every countable word of text that holds no code or maths any more."""
    found = []
    for m in _WORD.finditer(text):
        word, script = m.group(), m.lastgroup or "Other"
        maths = len(word) == 1 or word.lower() in _MATH_WORDS or _is_label(word, script)
        if script in _CJK or not maths:
            found.append((script, word))
    return found


def _is_label(word: str, script: str) -> bool:
    """Short all-capital Latin words: points and segments (AB, ABCD), common in the geometry of
    any language's CoT, and acronyms (OK, GCD), which belong to no language in particular."""
    return script == "Latin" and len(word) <= 4 and word.isupper()


def _join(tokens: list[tuple[str, str]]) -> str:
    return "".join(w if s in _CJK else f" {w}" for s, w in tokens).strip()


@functools.cache
def _detector(codes: frozenset[str]):
    """A lingua detector for just `codes`: a small set is faster and more accurate than all 75."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    log.info("building a lingua detector for %s", ", ".join(sorted(codes)))
    isos = [IsoCode639_1.from_str(c) for c in sorted(codes)]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def _identify(tokens: list[tuple[str, str]], codes: Iterable[str]) -> str | None:
    found = _detector(frozenset(codes)).detect_language_of(_join(tokens))
    return found.iso_code_639_1.name.lower() if found is not None else None


def normalize_code(code: object) -> str | None:
    """'zh-CN', 'en_US', ' EN ' -> 'zh', 'en', 'en'; None when not a language this module knows."""
    if not isinstance(code, str):
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SCRIPTS else None


def consistency(
    cot: str, target: str, languages: Iterable[str] = DEFAULT_LANGUAGES, max_excluded: float = MAX_EXCLUDED
) -> float | None:
    """Proportion of the words of `cot` in language `target`; None if `target` is unknown.

    Code set aside by language_view may be at most `max_excluded` of all the words (its own and
    the language's): past that, the excess is counted too, at the code's own share of target
    words, so wrapping a whole chain of thought in code-like lines cannot hide its language.
    """
    code = normalize_code(target)
    if code is None:
        return None
    own = SCRIPTS[code]
    rivals = {c for c in _known(languages) - {code} if set(SCRIPTS[c]) & set(own)}
    prose, set_aside = language_view(cot)
    hits = total = 0.0
    for tokens in _chunks(prose, own) if rivals else [_tokens(prose)]:
        mine = [t for t in tokens if t[0] in own]
        total += len(tokens)
        shared = rivals and any(s in SCRIPTS[r] for s, _ in mine for r in rivals)
        if shared and _identify(mine, rivals | {code}) not in (code, None):
            continue  # lingua says these words are a rival language
        hits += len(mine)
    code_tokens = _tokens(set_aside)
    excess = max(0.0, len(code_tokens) - max_excluded * (total + len(code_tokens)))
    if excess:
        hits += excess * sum(s in own for s, _ in code_tokens) / len(code_tokens)
        total += excess
    return hits / total if total else 1.0


def _chunks(prose: str, own: tuple[str, ...]) -> list[list[tuple[str, str]]]:
    """Words of `prose` in runs of whole sentences with at least _MIN_CHUNK words in the `own`
    scripts: lingua is unreliable on one or two words ("Ones: 3 + 4 = 7." leaves "Ones")."""
    chunks: list[list[tuple[str, str]]] = [[]]
    for sentence in _SENTENCE_END.split(prose):
        chunks[-1].extend(_tokens(sentence))
        if sum(s in own for s, _ in chunks[-1]) >= _MIN_CHUNK:
            chunks.append([])
    if len(chunks) > 1 and sum(s in own for s, _ in chunks[-1]) < _MIN_CHUNK:
        chunks[-2].extend(chunks.pop())  # a short tail joins the chunk before it
    return chunks


def _known(languages: Iterable[str]) -> set[str]:
    codes = {normalize_code(c) for c in languages}
    return {c for c in codes if c is not None}


def _prompt_text(prompt: object) -> str:
    """The question itself: the last user message of a chat, or the text after the last `User:`
    of a raw template (whose English boilerplate would otherwise outvote the question)."""
    if isinstance(prompt, list):
        users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1]) if users else completion_text(prompt)
    text = str(prompt)
    if "User:" in text:
        text = text.rsplit("User:", 1)[1].rsplit("Assistant:", 1)[0]
    return text


def detect_language(text: str, languages: Iterable[str] = DEFAULT_LANGUAGES) -> str | None:
    """The candidate whose scripts hold the most words of `text`; lingua breaks ties between
    candidates sharing those scripts. None when no word belongs to any candidate."""
    by_script = Counter(s for s, _ in words(text))
    scores = {c: sum(by_script[s] for s in SCRIPTS[c]) for c in _known(languages)}
    best = max(scores.values(), default=0)
    if best == 0:
        return None
    tied = sorted(c for c, n in scores.items() if n == best)
    if len(tied) == 1:
        return tied[0]
    return _identify([t for t in words(text) if t[0] in SCRIPTS[tied[0]]], tied)


def target_language(
    given: str | None, prompt: object, cot: str, candidates: Iterable[str] = DEFAULT_LANGUAGES
) -> str | None:
    """The language a chain of thought should be in: the row's `language` where the dataset has
    one; else the prompt's (most hub sets, OpenR1-Math among them, have no language column, and
    the prompt mix fills the missing column with None); for a prompt with no words (only maths)
    the chain's own main language, so a CoT is held to one language; for a CoT with no words
    either, the first candidate, under which such a CoT scores 1.0 (nothing in it is
    inconsistent). None (cannot judge) without a prompt, or where the prompt's or the CoT's words
    are in no candidate's scripts (a Thai prompt among en/zh): said once (unknown_language)."""
    if given:
        return given
    if prompt is None:
        return None
    candidates = tuple(candidates)
    for text in (_prompt_text(prompt), cot):
        found = words(text)
        if found:
            detected = detect_language(text, candidates)
            if detected is None:
                unknown_language(found, candidates)
            return detected
    return candidates[0]


_warned_scripts: set[str] = set()


def unknown_language(found: list[tuple[str, str]], candidates: tuple[str, ...]) -> None:
    """Log, once per script, that text in a script no candidate uses cannot be judged."""
    scripts = sorted({script for script, _ in found} - _warned_scripts)
    if scripts:
        _warned_scripts.update(scripts)
        log.warning(
            "language_consistency: text in %s script, which none of the languages %s uses, is not judged "
            "(None); give the data a `language` column, or use a reward made with "
            "make_language_consistency([...]) that lists its language",
            ", ".join(scripts),
            list(candidates),
        )


def make_language_consistency(languages: Iterable[str] = DEFAULT_LANGUAGES) -> RewardFn:
    """The reward, telling apart the candidate `languages` (plus each row's target)."""
    candidates = tuple(languages)
    unknown = [c for c in candidates if normalize_code(c) is None]
    if unknown:
        raise ValueError(f"unknown language codes {unknown}; known: {', '.join(sorted(SCRIPTS))}")

    def language_consistency(
        completions: list,
        language: list | None = None,
        prompts: list | None = None,
        think_prefilled: Prefilled = None,
        **_: object,
    ) -> list[float | None]:
        n = len(completions)
        targets = list(language) if language is not None else [None] * n
        if prompts is None and any(t is None for t in targets):
            log.warning("language_consistency: no `language` and no prompts for some rows; cannot judge them")
        flags = resolve_prefilled(n, think_prefilled, prompts)
        cots = [reasoning_of(completion_text(c), f) for c, f in zip(completions, flags, strict=True)]
        resolved = [
            target_language(lang, prompts[i] if prompts else None, cot, candidates)
            for i, (cot, lang) in enumerate(zip(cots, targets, strict=True))
        ]
        return [
            None if target is None else consistency(cot, target, candidates)
            for cot, target in zip(cots, resolved, strict=True)
        ]

    return language_consistency


language_consistency = register("language_consistency")(make_language_consistency())

# The same measure with common same-script languages as candidates, so that e.g. a French chain
# of thought on an English prompt is caught (lingua runs on Latin/Cyrillic sentences: ~0.8 ms
# per CoT instead of ~60 us). Pick it by name: reward.funcs=[..., language_consistency_strict].
STRICT_LANGUAGES: tuple[str, ...] = ("en", "zh", "fr", "de", "es", "it", "pt", "nl", "ru", "uk", "ja", "ko")
language_consistency_strict = register("language_consistency_strict")(
    make_language_consistency(STRICT_LANGUAGES)
)
