"""code_accuracy runs the last Python block of the final answer (after </think>) against the row's tests in the sandbox:
stdin/stdout and function-call tests, fraction or all-or-nothing, tests as lists or JSON."""

from __future__ import annotations

import json

import pytest

from r1pipe.rewards.code import code_accuracy, extract_code, parse_tests, same_output
from r1pipe.rewards.registry import get_reward
from r1pipe.rewards.sandbox import SandboxLimits

LIMITS = SandboxLimits(cpu_seconds=1, wall_seconds=2, memory_mb=256)


def fenced(code: str, tag: str = "python") -> str:
    return f"```{tag}\n{code}\n```"


THINK = "<think>\nI write the program.\n</think>\n\n"  # the final answer comes after </think>


ADD_STDIN = [{"input": "1 2\n", "output": "3\n"}, {"input": "5 7\n", "output": "12"}]
ADD_FN = [
    {"fn_name": "add", "args": [1, 2], "expected": 3},
    {"fn_name": "add", "args": [5, 7], "expected": 12},
]
ADD_FN_ROW = [{"args": [1, 2], "expected": 3}, {"args": [5, 7], "expected": 12}]  # fn_name is a column
SUM_STDIN = "a, b = map(int, input().split())\nprint(a + b)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (THINK + fenced("print(1)"), "print(1)\n"),
        (THINK + fenced("print(1)", "py"), "print(1)\n"),
        (THINK + fenced("x = 1") + " then " + fenced("x = 2"), "x = 2\n"),  # the last block
        ("<think>" + fenced("a = 1") + "</think>" + fenced("b = 2"), "b = 2\n"),  # after </think>
        ("<think>" + fenced("a = 1") + "</think>no code here", None),  # code in the reasoning only
        (
            "<think>" + fenced("a = 1") + "</think>" + fenced("echo", "bash"),
            "echo\n",
        ),  # never the reasoning's
        ("<think></think>" + fenced("p = 1") + fenced("echo hi", "bash"), "p = 1\n"),  # python over bash
        ("<think></think>" + fenced("echo hi", "bash"), "echo hi\n"),  # any block as a last resort
        (fenced("print(1)"), None),  # no </think>: no final answer (reward.without_think_end)
        ("no code at all", None),
        (THINK + fenced("   "), None),  # an empty block is no code
        (THINK + "```python\nprint(1)", None),  # unclosed (a truncated generation)
    ],
)
def test_extract_code(text, expected):
    assert extract_code(text) == expected


def test_extract_code_from_the_whole_text_when_configured():
    assert extract_code(fenced("print(1)"), "whole_text") == "print(1)\n"
    assert extract_code("<think>" + fenced("a = 1") + "</think>", "whole_text") is None


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        ("3\n", "3", True),
        ("3   \n4\t\n\n\n", "3\n4", True),  # trailing whitespace per line and blank lines
        ("1 2\r\n", "1 2\n", True),
        (" 3\n", "3\n", False),  # leading whitespace counts
        ("3\n\n4\n", "3\n4\n", False),  # inner blank lines count
    ],
)
def test_same_output(got, expected, same):
    assert same_output(got, expected) is same


@pytest.mark.parametrize(
    ("completion", "tests", "fn_name", "mode", "score"),
    [
        pytest.param(fenced(SUM_STDIN), ADD_STDIN, None, "fraction", 1.0, id="stdin-all-pass"),
        pytest.param(fenced("print(3)"), ADD_STDIN, None, "fraction", 0.5, id="stdin-half"),
        pytest.param(fenced("print(3)"), ADD_STDIN, None, "all", 0.0, id="stdin-half-all-or-nothing"),
        pytest.param(fenced(SUM_STDIN), ADD_STDIN, None, "all", 1.0, id="stdin-all-mode-pass"),
        pytest.param(
            fenced(SUM_STDIN.replace("a + b", "str(a + b) + '   '")),
            ADD_STDIN,
            None,
            "all",
            1.0,
            id="trailing-ws",
        ),
        pytest.param(fenced(SUM_STDIN), json.dumps(ADD_STDIN), None, "fraction", 1.0, id="json-string-tests"),
        pytest.param(
            [{"role": "assistant", "content": THINK + fenced(SUM_STDIN)}],
            ADD_STDIN,
            None,
            "all",
            1.0,
            id="chat",
        ),
        pytest.param("<think>hmm</think> the answer is 3", ADD_STDIN, None, "fraction", 0.0, id="no-code"),
        pytest.param(fenced("print(a +"), ADD_STDIN, None, "fraction", 0.0, id="syntax-error"),
        pytest.param(fenced("while True:\n    pass"), ADD_STDIN, None, "fraction", 0.0, id="infinite-loop"),
        pytest.param(fenced("import sys\nsys.exit(1)"), ADD_STDIN, None, "fraction", 0.0, id="crash"),
        pytest.param(fenced("def add(a, b):\n    return a + b"), ADD_FN, None, "all", 1.0, id="fn-pass"),
        pytest.param(fenced("def add(a, b):\n    return 3"), ADD_FN, None, "fraction", 0.5, id="fn-half"),
        pytest.param(fenced("def add(a, b):\n    return 3"), ADD_FN, None, "all", 0.0, id="fn-half-all"),
        pytest.param(
            fenced("def add(a, b):\n    return a + b"), ADD_FN_ROW, "add", "all", 1.0, id="fn-dataset-name"
        ),
        pytest.param(
            fenced("def add(a, b):\n    return a + b"), json.dumps(ADD_FN), None, "all", 1.0, id="fn-json"
        ),
        pytest.param(
            fenced("class Solution:\n    def add(self, a, b):\n        return a + b"),
            ADD_FN,
            None,
            "all",
            1.0,
            id="fn-class",
        ),
        pytest.param(
            fenced("def add(a, b):\n    print('debug', a)\n    return a + b"),
            ADD_FN,
            None,
            "all",
            1.0,
            id="fn-prints",
        ),
        pytest.param(
            fenced(
                "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))"
            ),
            ADD_FN,
            None,
            "all",
            1.0,
            id="fn-main-guard-skipped",
        ),
        pytest.param(
            fenced("def plus(a, b):\n    return a + b"), ADD_FN, None, "fraction", 0.0, id="fn-wrong-name"
        ),
        pytest.param(
            fenced("def add(a, b):\n    return {a + b}"), ADD_FN, None, "fraction", 0.0, id="fn-not-json"
        ),
        pytest.param(
            fenced("def pair(a):\n    return (a, a)"),
            [{"fn_name": "pair", "args": [1], "expected": [1, 1]}],
            None,
            "all",
            1.0,
            id="fn-tuple-vs-list",
        ),
        pytest.param(
            fenced(SUM_STDIN),
            {"inputs": ["1 2\n", "2 2\n"], "outputs": ["3\n", "5\n"]},
            None,
            "fraction",
            0.5,
            id="apps",
        ),
        pytest.param(
            fenced("def add(a, b):\n    return a + b"),
            json.dumps({"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]}),
            None,
            "all",
            1.0,
            id="apps-fn",
        ),
        pytest.param(fenced(SUM_STDIN), "not json", None, "fraction", None, id="unparsable-tests"),
        pytest.param(fenced(SUM_STDIN), [], None, "fraction", None, id="no-tests"),
        pytest.param(fenced(SUM_STDIN), [{"args": [1]}], None, "fraction", None, id="malformed-test"),
    ],
)
def test_code_accuracy(completion, tests, fn_name, mode, score):
    completion = completion if isinstance(completion, list) else THINK + completion
    scores = code_accuracy([completion], tests=[tests], fn_name=[fn_name], mode=mode, limits=LIMITS)
    assert scores == [score]


def test_batch_runs_in_parallel_and_keeps_order():
    completions = [THINK + c for c in (fenced(SUM_STDIN), fenced("print(3)"), "no code", fenced(SUM_STDIN))]
    scores = code_accuracy(completions, tests=[ADD_STDIN] * 4, limits=LIMITS, workers=2, extra_column=[0] * 4)
    assert scores == [1.0, 0.5, 0.0, 1.0]


def test_limits_as_a_dict_from_config():
    limits = {"cpu_seconds": 1, "wall_seconds": 2}
    assert code_accuracy([THINK + fenced(SUM_STDIN)], tests=[ADD_STDIN], limits=limits) == [1.0]


def test_keywords_as_columns_of_a_batch_of_one():
    """The reward guard scores one sample at a time and passes every keyword as a one-row column."""
    scores = code_accuracy(
        [THINK + fenced("print(3)")], tests=[ADD_STDIN], mode=["all"], limits=[{"wall_seconds": 2}]
    )
    assert scores == [0.0]


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="mode"):
        code_accuracy([fenced(SUM_STDIN)], tests=[ADD_STDIN], mode="most")


def test_registered():
    assert get_reward("code_accuracy") is code_accuracy


@pytest.mark.parametrize(
    ("spec", "n"),
    [
        (ADD_STDIN, 2),
        (json.dumps(ADD_FN), 2),
        ({"inputs": ["1\n"], "outputs": ["1\n"]}, 1),
        (None, None),
        ("[1, 2]", None),  # not test dicts
        ("{}", None),
    ],
)
def test_parse_tests(spec, n):
    parsed = parse_tests(spec)
    assert (None if parsed is None else len(parsed)) == n
