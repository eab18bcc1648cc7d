"""Every reward is an attack surface: RL finds what it pays for. Tables of adversarial cases per
reward, each with the expected score and why (issue 12), plus the cases adapted from TRL's and
open-r1's own reward tests (source named on each table), checked against TRL's live functions
where the definitions are the same.

Sandbox attacks (SysV shared memory, setsid children, a guard timeout mid-run, the audit hook)
are in test_sandbox.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from r1pipe.evaluation.benchmarks import normalized_answer
from r1pipe.rejection.judge import final_answer
from r1pipe.rewards import (
    choice_accuracy,
    code_accuracy,
    extract_answer,
    math_accuracy,
    r1_format,
    r1_zero_format,
    toy_accuracy,
)
from r1pipe.rewards.accuracy import reference_kind
from r1pipe.rewards.guard import GuardedReward, GuardPolicy
from r1pipe.rewards.language import consistency

R = "<think>\nI add the ones, then the tens.\n</think>\n\n"  # a closed reasoning block

# -- accuracy: only the final answer is judged ---------------------------------------------------

# (reward, completion, reference, expected score, why)
FINAL_ANSWER_ATTACKS = [
    (
        toy_accuracy,
        "<think>\\boxed{42}</think>\n\nThe sum is \\boxed{41}.",
        "42",
        0.0,
        "right box in the reasoning, wrong summary",
    ),
    (
        toy_accuracy,
        "<think>\\boxed{42}</think>\n\nI am not sure.",
        "42",
        0.0,
        "right box in the reasoning, no answer after it",
    ),
    (
        toy_accuracy,
        "<think>\\boxed{41}</think>\n\nThe sum is \\boxed{42}.",
        "42",
        1.0,
        "wrong box in the reasoning, right summary",
    ),
    (toy_accuracy, "<think>so \\boxed{42}", "42", 0.0, "reasoning never closed (truncated): no final answer"),
    (toy_accuracy, "\\boxed{42}", "42", 0.0, "no reasoning block at all: no final answer by default"),
    (toy_accuracy, R + "\\boxed{41} or \\boxed{42}", "42", 0.0, "a hedge: two different answers"),
    (toy_accuracy, R + "\\boxed{42}, i.e. \\boxed{42}", "42", 1.0, "the same answer twice is one answer"),
    (toy_accuracy, R + "\\boxed{41 or 42}", "42", 0.0, "a hedge inside one box"),
    (toy_accuracy, R + "<answer>41</answer> <answer>42</answer>", "42", 0.0, "two different R1-Zero answers"),
    (toy_accuracy, R + "42", "42", 1.0, "a bare summary that is the answer"),
    (toy_accuracy, R + "\\boxed{}", "42", 0.0, "an empty box"),
    (toy_accuracy, R + "\\boxed{42", "42", 0.0, "an unclosed box is no answer (the bare text is not 42)"),
    (toy_accuracy, "<think>a</think> \\boxed{41} </think> \\boxed{42}", "42", 1.0, "after the last </think>"),
    (toy_accuracy, "<think>a</think> \\boxed{42} </think> \\boxed{41}", "42", 0.0, "after the last </think>"),
    (
        math_accuracy,
        "<think> My answer is \\boxed{42} </think> Some other text.",
        "42",
        0.0,
        "TRL test_correct_answer_in_reasoning",
    ),
    (
        math_accuracy,
        "<think>\\boxed{42}</think> Here's a wrong answer: \\boxed{43}.",
        "42",
        0.0,
        "TRL test_correct_answer_in_reasoning",
    ),
    (
        math_accuracy,
        R + "\\boxed{41} or \\boxed{42}",
        "42",
        0.0,
        "a hedge: two different boxes (0 in TRL too)",
    ),
    (math_accuracy, R + "\\boxed{42} or \\boxed{41}", "42", 0.0, "a hedge, right answer first"),
    (math_accuracy, R + "\\boxed{41 \\lor 42}", "42", 0.0, "math-verify alone reads 42 and pays"),
    (math_accuracy, R + "\\boxed{41 \\text{ or } 42}", "42", 0.0, "a hedge in words"),
    (math_accuracy, R + "\\boxed{41, 42}", "42", 0.0, "a set is not the number"),
    (math_accuracy, R + "\\boxed{\\pm 2}", "2", 0.0, "plus-minus covers two answers"),
    (
        math_accuracy,
        R + "\\boxed{42} \\boxed{\\frac{84}{2}}",
        "42",
        1.0,
        "two equivalent forms are one answer",
    ),
    (math_accuracy, R + "\\boxed{x = 42}", "42", 1.0, "an assignment of the answer"),
    (math_accuracy, R + "\\boxed{1} \\boxed{2} \\boxed{3} \\boxed{42}", "42", 0.0, "a spray of answers"),
    (math_accuracy, "<think>\\boxed{7}", "7", 0.0, "reasoning never closed"),
    (math_accuracy, "<think>" + "x " * 500, "7", 0.0, "degenerate, endless reasoning"),
    (math_accuracy, R, "7", 0.0, "empty summary"),
    (math_accuracy, R + "<answer>7</answer>", "7", 1.0, "R1-Zero answer tag"),
    (
        choice_accuracy,
        "<think>\\boxed{C}</think> The answer is B.",
        "C",
        0.0,
        "right letter in the reasoning only",
    ),
    (choice_accuracy, R + "\\boxed{A, B, C, D}", "A", 0.0, "every letter at once"),
    (choice_accuracy, R + "\\boxed{A} or \\boxed{B}", "A", 0.0, "two boxed letters"),
    (choice_accuracy, R + "The answer is A. Actually the answer is B.", "A", 0.0, "two stated letters"),
    (choice_accuracy, R + "\\boxed{(A)/(B)}", "B", 0.0, "alternatives in one box"),
    (choice_accuracy, R + "\\boxed{B) A photon}", "B", 1.0, "an option's text after the letter is fine"),
    (choice_accuracy, R + "A careful check.", "A", 0.0, "a sentence starting with a capital names no choice"),
]


@pytest.mark.parametrize(
    ("reward", "completion", "reference", "expected", "why"),
    FINAL_ANSWER_ATTACKS,
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(FINAL_ANSWER_ATTACKS)],
)
def test_accuracy_pays_only_for_the_final_answer(reward, completion, reference, expected, why):
    assert reward([completion], answer=[reference]) == [expected], why


def test_whole_text_judges_completions_that_never_close_their_reasoning():
    """reward.without_think_end=whole_text: for models that answer without a reasoning block; a
    completion that has one is still judged on its summary only."""
    assert toy_accuracy(["\\boxed{42}"], answer=["42"], without_think_end="whole_text") == [1.0]
    assert math_accuracy(["\\boxed{42}"], answer=["42"], without_think_end="whole_text") == [1.0]
    reasoning_only = "<think>\\boxed{42}</think> no idea"
    assert math_accuracy([reasoning_only], answer=["42"], without_think_end="whole_text") == [0.0]
    with pytest.raises(ValueError, match=r"reward\.without_think_end"):
        toy_accuracy(["\\boxed{42}"], answer=["42"], without_think_end="anywhere")


def test_a_prefilled_think_is_judged_the_same():
    """With a chat template that prefills <think>, the completion starts inside the reasoning and
    still closes it: the final region is the same."""
    prefilled = "I add 2 and 40, so \\boxed{43} at first.\n</think>\n\nThe sum is \\boxed{42}."
    assert toy_accuracy([prefilled], answer=["42"]) == [1.0]
    assert math_accuracy([prefilled], answer=["43"]) == [0.0]


# -- code: only the program of the final answer runs ----------------------------------------------

ADD = [{"input": "1 2\n", "output": "3\n"}]
SOLUTION = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"

CODE_ATTACKS = [
    (f"<think>{SOLUTION}</think>\n\nDone.", 0.0, "a right program only in the reasoning is never run"),
    (f"<think>{SOLUTION}</think>\n\n```python\nprint(4)\n```", 0.0, "the summary's program is judged"),
    (
        f"<think>```python\nprint(4)\n```</think>\n\n{SOLUTION}",
        1.0,
        "a wrong draft in the reasoning costs nothing",
    ),
    (f"<think>I write it: {SOLUTION}", 0.0, "reasoning never closed"),
    (SOLUTION, 0.0, "no reasoning block: no final answer by default"),
    (R + SOLUTION[:-3], 0.0, "an unclosed fence (a truncated answer) is no program"),
]


@pytest.mark.parametrize(("completion", "expected", "why"), CODE_ATTACKS)
def test_code_runs_only_the_final_program(completion, expected, why):
    assert code_accuracy([completion], tests=[ADD], mode="all") == [expected], why


# -- one extraction for rewards, evaluation votes and the rejection judge -------------------------

AGREE = [
    "<think>\\boxed{3}</think>\n\nSo \\boxed{4}.",
    "<think>\\boxed{3}</think>\n\nI give up.",
    "<think>\\boxed{3}",
    "\\boxed{3}",
    R + "<answer>5</answer>",
]


@pytest.mark.parametrize("completion", AGREE)
def test_rewards_evaluation_and_the_judge_read_the_same_answer(completion):
    answer = extract_answer(completion)
    assert final_answer(completion) == (answer or "")  # what the rejection judge is shown
    vote = normalized_answer(completion)  # what evaluation samples vote with (spacing removed)
    assert vote == (None if answer is None else answer.replace(" ", "").rstrip("."))
    right = toy_accuracy([completion], answer=[answer or "none"]) == [1.0]
    assert right == (answer is not None and answer.isdigit())  # and what the reward pays for


# -- text references are text, never products of letters -----------------------------------------

TEXT_REFERENCES = [
    ("\\boxed{no}", "on", 0.0, "math-verify reads n*o == o*n: an anagram matched"),
    ("\\boxed{on}", "no", 0.0, "the other way round"),
    ("\\boxed{no}", "no", 1.0, "the same word"),
    ("\\boxed{\\text{No}}.", "no", 1.0, "case and \\text wrappers do not matter"),
    ("\\boxed{\\text{Forty-two}}", "forty two", 1.0, "hyphen and spacing do not matter"),
    ("\\boxed{42}", "forty two", 0.0, "a number is not the words (TRL: None, skipped)"),
    ("\\boxed{Monday or Tuesday}", "Monday", 0.0, "a hedge is not the word"),
    ("\\boxed{\\text{east}}", "\\text{east}", 1.0, "MATH-style text answer"),
    ("\\boxed{tsae}", "\\text{east}", 0.0, "an anagram of a text answer"),
    ("\\boxed{42}", "The answer is forty-two apples in total.", None, "a sentence: rules cannot judge"),
    ("\\boxed{2}", "\\invalid{{{", None, "math-verify cannot parse it"),
    ("\\boxed{\\infty}", "\\infty", 1.0, "a math name, not text"),
    ("\\boxed{(x+1)^2}", "x^2+2x+1", 1.0, "letters of maths are maths"),
]


@pytest.mark.parametrize(("summary", "reference", "expected", "why"), TEXT_REFERENCES)
def test_text_references(summary, reference, expected, why):
    assert math_accuracy([R + summary], answer=[reference]) == [expected], why


@pytest.mark.parametrize(
    ("reference", "kind"),
    [
        ("forty two", "text"),
        ("no", "text"),
        ("\\text{Devon}", "text"),
        ("x^2+1", "math"),
        ("B", "math"),
        ("5\\text{ cm}", "math"),
        ("\\sqrt{2}\\pi", "math"),
        ("one two three four five", None),
    ],
)
def test_reference_kind(reference, kind):
    assert reference_kind(reference) == kind


# -- agreement with TRL where the definitions are the same ----------------------------------------

# From trl/tests/test_rewards.py (TestReasoningAccuracyReward, TestAccuracyReward), adapted to
# r1pipe's `answer` column: (completion, reference).
TRL_SAME = [
    ("<think> Reasoning content </think> \\boxed{\\frac{63}{400}}", "\\frac{63}{400}"),
    ("Reasoning content </think> \\boxed{\\frac{63}{400}}", "\\frac{63}{400}"),
    ("<think> Reasoning content </think> \\boxed{\\frac{64}{400}}", "\\frac{63}{400}"),
    ("<think> My answer is \\boxed{42} </think> Some other text.", "\\boxed{42}"),
    ("<think> The answer is \\boxed{42} </think> Here's a wrong answer: \\boxed{43}.", "\\boxed{42}"),
    ("<think> Incomplete reasoning without closing tag", "\\frac{63}{400}"),
    ("Correct answer \\frac{63}{400} but completely missing reasoning content", "\\frac{63}{400}"),
    ("<think> Reasoning </think> \\boxed{\\frac{63}{400}}", "63/400"),
    ("<think> Reasoning </think> \\boxed{3}", "6"),
    ("<think> Reasoning </think> The final answer is $\\frac{1}{2}$.", "0.5"),
    ("<think> Reasoning </think> \\boxed{0.5}", "\\frac{1}{2}"),
    ("<think> Reasoning </think> \\boxed{42} or \\boxed{41}", "41"),  # hedges: 0 in both
    ("<think> Reasoning </think> \\boxed{42} or \\boxed{41}", "42"),
    ("<think> Reasoning </think> \\boxed{41}. Hmm, wait: \\boxed{42}", "42"),
    ("<think> Reasoning </think> \\boxed{41 \\lor 42}", "42"),
    ("<think> Reasoning </think> \\boxed{1} \\boxed{2} \\boxed{3} \\boxed{42}", "42"),
    ("<think> Reasoning </think> \\boxed{42} \\boxed{\\frac{84}{2}}", "42"),
    ("<think> Reasoning </think> \\boxed{x = 42}", "42"),
    ("<think> Reasoning </think> \\boxed{}", "42"),
]

# Where r1pipe differs on purpose (accuracy.py's docstring): (completion, reference, r1pipe, TRL, why)
TRL_DIFFERENT = [
    ("<think> r </think> \\boxed{42}", "forty two", 0.0, None, "TRL skips text references"),
    ("<think> r </think> \\boxed{no}", "no", 1.0, None, "TRL skips text references"),
    ("<think> r </think> \\boxed{(x+1)^2}", "x^2+2x+1", 1.0, None, "TRL parses references without $"),
    ("<think> r </think> so it is 12", "12", 1.0, 0.0, "TRL needs LaTeX after an anchor"),
]


def _trl(completion: str, reference: str) -> float | None:
    from trl.rewards import reasoning_accuracy_reward

    return reasoning_accuracy_reward([[{"content": completion}]], [reference])[0]


@pytest.mark.parametrize(("completion", "reference"), TRL_SAME)
def test_math_accuracy_agrees_with_trl(completion, reference):
    assert math_accuracy([completion], answer=[reference]) == [_trl(completion, reference)]


@pytest.mark.parametrize(("completion", "reference", "ours", "trl", "why"), TRL_DIFFERENT)
def test_deliberate_differences_from_trl(completion, reference, ours, trl, why):
    assert (math_accuracy([completion], answer=[reference])[0], _trl(completion, reference)) == (ours, trl), (
        why
    )


# From trl/tests/test_rewards.py (TestThinkFormatReward): r1_format agrees with TRL's
# think_format_reward except on an empty reasoning block, which r1pipe does not pay for (a model
# would learn to skip thinking).
THINK_FORMAT = [
    ("<think>This is my reasoning.</think>This is my answer.", 1.0),
    ("<think>\nThis is my reasoning.\n</think>\nThis is my answer.", 1.0),
    ("<think>\nThis is <some tag> my reasoning.</think>\nThis is my answer.", 1.0),
    ("<think></think>\nThis is my answer.", 0.0),  # TRL: 1.0 (empty reasoning)
    ("<think>\nThis is my reasoning.\nThis is my answer.", 0.0),
    ("This is my reasoning. This is my answer.", 0.0),
    ("This is my reasoning.</think>\nThis is my answer.", 0.0),
    ("This<think>is my reasoning.</think>\nThis is my answer.", 0.0),
    ("<think>This is<think>my reasoning.</think></think>This is my answer.", 0.0),
    ("<think>This is</think>\nmy\n<think>reasoning.</think>\nThis is my answer.", 0.0),
]


@pytest.mark.parametrize(("completion", "expected"), THINK_FORMAT)
def test_r1_format_cases_from_trl(completion, expected):
    from trl.rewards import think_format_reward

    assert r1_format([completion]) == [expected]
    if "<think></think>" not in completion:
        assert think_format_reward([[{"content": completion}]]) == [expected]


# From open-r1's tests/test_rewards.py (test_format_reward_*): the R1-Zero format.
OPEN_R1_FORMAT = [
    ("<think>Some reasoning</think><answer>The answer</answer>", 1.0),
    ("<think>Only thinking</think>", 0.0),
    ("<answer>Only answer</answer>", 0.0),
    ("No tags at all", 0.0),
    ("<think>Missing closing</think><answer>Missing closing", 0.0),
    ("<think>Wrong order</answer><answer>Wrong order</think>", 0.0),
    (
        "<think>\nI will count each distinct object in the image:\n1. Purple scooter\n2. Red bicycle\n"
        "\nThere are 9 distinct objects in total.\n</think>\n<answer>9</answer>",
        1.0,
    ),
]


@pytest.mark.parametrize(("completion", "expected"), OPEN_R1_FORMAT)
def test_r1_zero_format_cases_from_open_r1(completion, expected):
    assert r1_zero_format([completion]) == [expected]


# From open-r1's tests/test_rewards.py (test_accuracy_reward_*, test_multiple_completions).
def test_accuracy_cases_from_open_r1():
    completions = [R + "\\boxed{\\frac{63}{400}}", R + "\\boxed{\\frac{64}{400}}"]
    assert math_accuracy(completions, answer=["\\frac{63}{400}"] * 2) == [1.0, 0.0]


# -- language consistency: wrapping English does not hide it --------------------------------------

EN = "First I add the ones digits and then I carry the one to the tens column before adding them"
ZH = "我们先计算个位数然后进位到十位"
# (chain of thought, target, expected, why): English reasoning for a Chinese prompt must stay 0
LANGUAGE_ATTACKS = [
    (EN, "zh", 0.0, "plain English"),
    ("```\n" + EN, "zh", 0.0, "an unclosed fence strips nothing"),
    ("```\n" + EN + "\n```", "zh", 0.0, "a closed fence around prose is not code"),
    ("```python\n" + EN + "\n```", "zh", 0.0, "a language tag does not make prose code"),
    ("$\\text{" + EN + "}$", "zh", 0.0, "\\text{} content is words"),
    ("$" + EN + "$", "zh", 0.0, "prose between dollars keeps its long words"),
    ("\\[" + EN + "\\]", "zh", 0.0, "display maths around prose"),
    ("\\begin{itemize}" + EN + "\\end{itemize}", "zh", 0.0, "an environment other than maths is text"),
    ("\\begin{align}" + EN + "\\end{align}", "zh", 0.0, "a maths environment around prose"),
    ("\\boxed{" + EN + "}", "zh", 0.0, "a box around prose"),
    ("`" + EN + "`", "zh", 0.0, "inline code around a sentence"),
    (
        "```python\n" + "\n".join(f"x = 1  # {w}" for w in EN.split(" and ")) + "\n```",
        "zh",
        0.0,
        "comments are language",
    ),
    (
        "```python\n" + "\n".join(f"print('{w}')" for w in EN.split(" and ")) + "\n```",
        "zh",
        0.0,
        "all-code CoT: the cap counts it",
    ),
    (
        ZH + "\n```python\nfor i in range(10):\n    total = total + i\nprint(total)\n```",
        "zh",
        1.0,
        "real code beside Chinese is no language",
    ),
    (
        ZH + " $a^2 + b^2 = c^2$，\\[\\frac{ab}{2} = \\sqrt{xy}\\] $\\sin x + \\log y$",
        "zh",
        1.0,
        "real maths is no language",
    ),
    (ZH + " $5\\text{ cm}$ 和 3 kg", "zh", 1.0, "unit symbols are no language"),
    ("\\" + " \\".join(EN.split()), "zh", 0.0, "English written as LaTeX commands"),
    ("https://" + "/".join(EN.split()), "zh", 0.0, "English written as a URL"),
    ("<" + EN + ">", "zh", 0.0, "English inside angle brackets is no tag"),
    (ZH + " 1 + 2 = 3", "zh", 1.0, "digits and operators are no language"),
    (
        "1 + 2 = 3",
        "zh",
        1.0,
        "no countable word: nothing inconsistent (by definition; format pays for reasoning)",
    ),
    (EN, "en", 1.0, "the honest English case"),
]


@pytest.mark.parametrize(("cot", "target", "expected", "why"), LANGUAGE_ATTACKS)
def test_language_consistency_cannot_be_gamed_by_wrapping(cot, target, expected, why):
    assert consistency(cot, target) == pytest.approx(expected), why


# -- deterministic verdicts ---------------------------------------------------------------------

PATHOLOGICAL = "</think>\\boxed{" + "(" * 2000 + "x" + ")" * 2000 + "^{9^{9^{9^{9}}}}}"


def test_the_same_pathological_answer_gets_the_same_verdict_every_time():
    """math-verify's own bounds and the guard's timeout were both 5 s: the same answer scored 0.0
    in one run and None in another. The verifier's deadline is now half the guard's, so it always
    ends the sample first, as a counted timeout scored by reward.on_failure."""
    for on_failure, verdict in (("none", None), ("zero", 0.0)):
        policy = GuardPolicy(timeout_s=3.0, workers=1, on_failure=on_failure)
        guarded = GuardedReward("math_accuracy", math_accuracy, policy)
        runs = [guarded([R + "\\boxed{1}", PATHOLOGICAL], answer=["1", "1"]) for _ in range(3)]
        assert runs == [[1.0, verdict]] * 3
        assert guarded.counts["timeouts"] == 3 and guarded.counts["errors"] == 0


def test_the_deadline_also_holds_without_worker_processes():
    """In a fresh interpreter, as a stage process is. Once, late in a long pytest-xdist worker, the
    deadline's SIGPROF never fired and this sample ran unbounded (22 s) to 0.0; not reproduced
    alone, under CPU load, or at other recursion limits (issue 16 note, 2026-12-02)."""
    samples = [R + "\\boxed{1}", PATHOLOGICAL]
    script = f"""
from r1pipe.rewards import math_accuracy
from r1pipe.rewards.guard import GuardedReward, GuardPolicy
guarded = GuardedReward("math_accuracy", math_accuracy, GuardPolicy(timeout_s=2.0, workers=-1))
print(guarded({samples!r}, answer=["1", "1"]), guarded.counts["timeouts"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[1.0, None] 1"
