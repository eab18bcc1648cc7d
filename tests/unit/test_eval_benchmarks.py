"""Benchmark loaders (local files in the hub datasets' layouts), answer extraction and the reward
each benchmark is judged by, run for real on right and wrong answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1pipe.evaluation.benchmarks import (
    BenchmarkError,
    code_tests,
    load_benchmark,
    normalized_answer,
    suite_problems,
)
from r1pipe.evaluation.loop import evaluate_benchmark
from r1pipe.generation import Sample
from r1pipe.pipeline.compose import compose_config
from r1pipe.rewards import REWARDS, choice_accuracy, code_accuracy, extract_choice, get_reward, math_accuracy

FIXTURES = Path(__file__).parents[1] / "fixtures" / "benchmarks"
LOCAL = [
    f"eval.suite.math500.path={FIXTURES / 'math500.jsonl'}",
    f"eval.suite.aime24.path={FIXTURES / 'aime24.jsonl'}",
    f"eval.suite.gpqa_diamond.path={FIXTURES / 'gpqa_diamond.csv'}",
    f"eval.suite.livecodebench.path={FIXTURES / 'livecodebench.jsonl'}",
]


@pytest.fixture(scope="module")
def cfg():
    return compose_config([*LOCAL, "eval.num_problems=0", "eval.samples_per_problem=3"])


def judge(bench, completions: list[str], row: int = 0) -> list[float | None]:
    """The benchmark's own reward on completions for problem `row` (each a summary after a closed
    reasoning block unless it has its own: rewards judge only the text after </think>)."""
    completions = [c if "</think>" in c else "<think>\nsolving\n</think>\n\n" + c for c in completions]
    problem = bench.problems[row]
    columns = {c: [problem[c]] * len(completions) for c in ("answer", "tests", "fn_name") if c in problem}
    columns |= {k: [v] * len(completions) for k, v in bench.reward_kwargs.items()}
    return get_reward(bench.reward)(completions, **columns)


def test_math500_rows_prompt_and_reward(cfg):
    bench = load_benchmark(cfg, "math500")
    assert (bench.kind, bench.reward, bench.k, len(bench.problems)) == ("math", "math_accuracy", 16, 3)
    first = bench.problems[0]
    assert first["id"] == "test/prealgebra/1.json"
    assert first["prompt"].endswith("put your final answer within \\boxed{}.")
    assert judge(
        bench, ["<think>half plus quarter</think> \\boxed{\\dfrac{3}{4}}", "\\boxed{0.75}", "\\boxed{1/2}"]
    ) == [
        1.0,
        1.0,
        0.0,
    ]


def test_aime_ids_and_integer_answers(cfg):
    bench = load_benchmark(cfg, "aime24")
    assert bench.k == 64 and list(bench.problems["id"]) == ["60", "61"]
    assert judge(bench, ["\\boxed{24}", "\\boxed{1024}"]) == [1.0, 0.0]


def test_gpqa_options_are_shuffled_reproducibly_and_the_letter_is_judged(cfg):
    bench = load_benchmark(cfg, "gpqa_diamond")
    assert (bench.kind, bench.reward) == ("multiple_choice", "choice_accuracy")
    row = bench.problems[0]
    options = dict(line.split(") ", 1) for line in row["prompt"].split("\n\n")[1].splitlines())
    assert sorted(options.values()) == ["Gluon", "Graviton", "Photon", "W boson"]
    assert options[row["answer"]] == "Photon"
    # the same problem id gives the same order in every run (and not always "A": GPQA lists it first)
    again = load_benchmark(cfg, "gpqa_diamond").problems
    assert list(again["prompt"]) == list(bench.problems["prompt"])
    wrong = next(letter for letter in "ABCD" if letter != row["answer"])
    assert judge(bench, [f"\\boxed{{{row['answer']}}}", f"The answer is ({wrong})", "no idea"]) == [
        1.0,
        0.0,
        0.0,
    ]


def test_livecodebench_tests_run_in_the_sandbox(cfg):
    bench = load_benchmark(cfg, "livecodebench")
    assert (bench.kind, bench.reward, bench.reward_kwargs) == ("code", "code_accuracy", {"mode": "all"})
    stdin = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    off_by_one = "```python\na, b = map(int, input().split())\nprint(a + b + 1)\n```"
    assert judge(bench, [stdin, off_by_one], row=0) == [1.0, 0.0]
    functional = bench.problems[1]
    assert functional["fn_name"] == "double" and "class Solution" in functional["prompt"]
    method = "```python\nclass Solution:\n    def double(self, n):\n        return 2 * n\n```"
    half_right = (
        "```python\nclass Solution:\n    def double(self, n):\n        return 6\n```"  # passes 1 of 2
    )
    assert judge(bench, [method, half_right], row=1) == [1.0, 0.0]


def test_code_tests_convert_livecodebench_forms_and_pass_others_through():
    raw = json.dumps(
        [
            {"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
            {"input": "[1, 2]\n3", "output": "[1, 2, 3]", "testtype": "functional"},
        ]
    )
    assert code_tests(raw, "append") == [
        {"input": "1 2\n", "output": "3\n"},
        {"fn_name": "append", "args": [[1, 2], 3], "expected": [1, 2, 3]},
    ]
    own = [{"input": "x", "output": "y"}]
    assert code_tests(own, None) == own
    assert code_accuracy(["</think>```python\nprint(input())\n```"], tests=[code_tests(own, None)]) == [0.0]


def test_heldout_is_the_runs_split(cfg):
    bench = load_benchmark(cfg, "heldout")
    assert (bench.kind, bench.reward, bench.k) == ("heldout", "toy_accuracy", 3)
    assert len(bench.problems) == 200 and {"id", "prompt", "answer", "language"} <= set(
        bench.problems.column_names
    )


def test_problem_caps_per_benchmark_and_global():
    capped = compose_config([*LOCAL, "eval.num_problems=2", "eval.suite.math500.num_problems=1"])
    assert len(load_benchmark(capped, "math500").problems) == 1
    assert len(load_benchmark(capped, "heldout").problems) == 2


@pytest.mark.parametrize(
    ("completion", "key"),
    [
        ("</think>\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}"),
        ("</think>\\boxed{ \\frac{1}{2} }", "\\frac{1}{2}"),
        ("</think>\\boxed{\\left(1, 2\\right)}", "(1,2)"),
        ("<think>x</think> The answer is 12.", "Theansweris12"),
        ("</think><answer>$7$.</answer>", "7"),
        ("<think>\\boxed{3}</think> \\boxed{4}", "4"),  # votes with the summary's answer
        ("\\boxed{4}", None),  # no </think>: no final answer, no vote
        ("no answer", None),
    ],
)
def test_math_vote_keys(completion, key):
    assert normalized_answer(completion) == key


@pytest.mark.parametrize(
    ("completion", "letter"),
    [
        ("</think>\\boxed{B}", "B"),
        ("</think>\\boxed{(C)}", "C"),
        ("</think>\\boxed{\\text{D}}", "D"),
        ("</think>\\boxed{\\textbf{(A)}}", "A"),
        ("</think>\\boxed{B) Photon}", "B"),
        ("</think>\\boxed{B) A photon}", "B"),  # an article after the letter is no second choice
        ("\\boxed{B}", None),  # no </think>: no final answer
        ("<think>\\boxed{A}</think> \\boxed{B}", "B"),  # the reasoning's box is not the answer
        ("</think>\\boxed{A, B}", None),  # hedges name no single choice
        ("</think>\\boxed{A or C}", None),
        ("</think>\\boxed{(A)/(C)}", None),
        ("</think>\\boxed{A} or \\boxed{B}", None),
        ("</think>\\boxed{B}. So \\boxed{B}", "B"),  # the same letter twice is one choice
        ("</think>The answer is A. No, the answer is B.", None),
        ("<think>maybe A? no</think>The answer is C.", "C"),
        ("<think>x</think>Answer: (D)", "D"),
        ("<think>x</think>the answer is a prime", None),  # a lowercase word names no choice
        ("</think>\\boxed{42}", None),
        ("</think>\\boxed{K}", None),  # outside A-J
        ("</think>A careful check shows the answer is C.", "C"),  # a leading capital is not a choice
        ("</think>I believe the answer is (B).", "B"),
        ("</think>Answer: **B**", "B"),
        ("</think> (B).", "B"),  # a summary that is only a letter
        ("</think>A careful check.", None),
    ],
)
def test_choice_extraction(completion, letter):
    assert extract_choice(completion) == letter


def test_choice_accuracy_leaves_bad_references_unjudged():
    assert choice_accuracy(["</think>\\boxed{A}", "</think>\\boxed{A}"], answer=["(a)", "Photon"]) == [
        1.0,
        None,
    ]


def test_unknown_benchmark_and_bad_files_are_reported_with_the_key(tmp_path):
    with pytest.raises(BenchmarkError, match=r"unknown benchmark 'nope'.*\+eval.suite.nope="):
        load_benchmark(compose_config([]), "nope")
    broken = tmp_path / "m.jsonl"
    broken.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    cfg = compose_config(
        [
            f"eval.suite.math500.path={broken}",
            f"eval.suite.aime24.path={tmp_path / 'missing.jsonl'}",
            "eval.benchmarks=[math500,aime24,nope]",
        ]
    )
    found = {p.key: p.message for p in suite_problems(cfg)}
    assert "has no column(s) ['problem', 'unique_id']" in found["eval.suite.math500 (column keys)"]
    assert "does not exist" in found["eval.suite.aime24.path"]
    assert "unknown benchmark 'nope'" in found["eval.benchmarks"]


def test_a_new_benchmark_can_be_added_from_the_command_line():
    cfg = compose_config(
        [
            f"+eval.suite.mine={{kind:math,path:{FIXTURES / 'aime24.jsonl'},split:train,samples_per_problem:2}}",
            "eval.benchmarks=[mine]",
        ]
    )
    bench = load_benchmark(cfg, "mine")
    assert bench.k == 2 and bench.problems[0]["answer"] == "24"
    assert suite_problems(cfg) == []


@pytest.mark.parametrize(
    ("answer", "letter"),
    [(2, "C"), ("B", "B"), ("(d)", "D"), ("3", "B"), ("9", "A"), ("1", "C")],  # "3"/"9"/"1" are option texts
)
def test_answer_letter_prefers_an_index_for_ints_and_the_text_for_strings(answer, letter):
    from r1pipe.evaluation.benchmarks import _answer_letter

    assert _answer_letter(answer, ["9", "3", "1", "7"], "p") == letter


def test_a_missing_hub_dataset_is_a_benchmark_error_naming_the_key(monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # fail at once, not after retries
    cfg = compose_config(["eval.suite.math500.path=nobody/no-such-dataset-r1pipe"])
    with pytest.raises(
        BenchmarkError, match=r"eval.suite.math500: cannot load 'nobody/no-such-dataset-r1pipe'"
    ):
        load_benchmark(cfg, "math500")


class ScriptedEngine:
    """Returns the given completions, one list per prompt, in order (no model)."""

    backend = "scripted"
    tokenizer = None
    max_positions = None  # no model: every prompt fits

    def __init__(self, per_prompt: list[list[str]]):
        self.per_prompt = per_prompt

    def generate(self, prompts, prompt_ids, sampling):
        return [
            Sample(pid, i, text, num_tokens=len(text), finish_reason="stop")
            for pid, texts in zip(prompt_ids, self.per_prompt, strict=True)
            for i, text in enumerate(texts)
        ]

    def close(self):
        pass


def unjudged_when_asked(completions, answer, **_):
    """math_accuracy, except that a completion saying 'unjudged' cannot be judged (None)."""
    return [
        None if "unjudged" in c else math_accuracy([c], answer=[a])[0]
        for c, a in zip(completions, answer, strict=True)
    ]


def test_pass_at_k_summary_names_the_problems_it_is_over(monkeypatch):
    """A problem with fewer than k judged samples has no pass@k: the summary's pass@4 is over the
    problems that have one, and pass@4_problems says how many (never pass@3 called pass@4)."""
    monkeypatch.setitem(REWARDS, "unjudged_when_asked", unjudged_when_asked)
    mini = (
        f"{{kind:math,path:'{FIXTURES / 'math500.jsonl'}',reward:unjudged_when_asked,samples_per_problem:4}}"
    )
    cfg = compose_config(["eval.num_problems=0", "reward.workers=-1", f"+eval.suite.mini={mini}"])
    bench = load_benchmark(cfg, "mini")
    right, wrong = "<think>r</think> \\boxed{\\frac{3}{4}}", "<think>r</think> \\boxed{1}"
    seven = "<think>r</think> \\boxed{7}"
    engine = ScriptedEngine(
        [[right, "<think>r</think> unjudged", wrong, wrong], ["<think>r</think> \\boxed{4}"] * 4, [seven] * 4]
    )
    metrics = evaluate_benchmark(engine, bench, cfg).summary["metrics"]
    assert len(bench.problems) == 3 and metrics["judged_problems"] == 3
    assert metrics["pass@4_problems"] == 2 and metrics["pass@4"] == 1.0  # problems 2 and 3 only
    assert metrics["pass@1"] == pytest.approx((1 / 3 + 1.0 + 1.0) / 3, abs=1e-4)  # rounded to 4 places
