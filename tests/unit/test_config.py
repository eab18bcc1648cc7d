"""The shipped config groups compose and validate, the YAML files document themselves, and bad
configs are reported all at once, each problem naming the key to fix."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from r1pipe.pipeline.compose import CONFIG_MODULE, ConfigError, closest_keys, compose_config, group_options
from r1pipe.pipeline.root_schema import schema_keys
from r1pipe.pipeline.validate import config_problems, validate_config

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def _groups() -> list[str]:
    """Every config group the package ships (a folder of YAML files in r1pipe.conf)."""
    root = resources.files(CONFIG_MODULE)
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and any(f.name.endswith(".yaml") for f in p.iterdir())
    )


GROUP_OPTIONS = [(group, option) for group in _groups() for option in group_options(group)]


def _problem_summary(problems) -> str:
    return "\n".join(str(p) for p in problems)


# --- every shipped config composes and validates --------------------------------------------------


def test_groups_are_found():
    # Guards the tables below against silently testing nothing.
    assert {"cold_start", "data", "eval", "experiment", "launcher", "model", "pipeline", "stage"} <= set(
        _groups()
    )
    assert "toy" in group_options("model")


def test_default_config_is_valid():
    cfg = compose_config([])
    assert config_problems(cfg) == []


def _beyond_this_machine(problems):
    """Problems other than 'vLLM is not installed': GPU presets pick vLLM generation, and the CPU
    test machine has no vLLM. Everything else must validate everywhere."""
    vllm_missing = importlib.util.find_spec("vllm") is None
    return [p for p in problems if not (vllm_missing and "needs vLLM" in p.message)]


# Options that need a value the user must give (distillation: the student and the stage-3 set).
NEEDS = {
    ("pipeline", "distill"): ["student=toy", "distill.data=org/r1-sft-set"],
    ("stage", "distill"): ["pipeline=distill", "student=toy", "distill.data=org/r1-sft-set"],
}


# Groups placed under another key in config.yaml's defaults are overridden as group@package=option.
PACKAGED = {"benchmarks": "benchmarks@eval.suite"}


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS, ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose_config([f"{PACKAGED.get(group, group)}={option}", *NEEDS.get((group, option), [])])
    problems = _beyond_this_machine(config_problems(cfg))
    assert problems == [], _problem_summary(problems)


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_every_experiment_composes_and_validates(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    # Shipped experiments must not depend on local paths either, so no problem at all is allowed.
    problems = _beyond_this_machine(config_problems(cfg))
    assert problems == [], _problem_summary(problems)


def test_experiment_overrides_reach_the_config():
    # An experiment is a preset at the global package: its values must win over the group defaults.
    quick = compose_config(["experiment=toy_quick"])
    assert quick.cold_start.max_steps == 100 and quick.rejection.accuracy == "r1_format"
    big = compose_config(["experiment=r1_qwen2.5_1.5b"])
    assert big.launcher.kind == "accelerate"
    assert big.reward.accuracy == "math_accuracy"


# --- the YAML files document themselves -----------------------------------------------------------

YAML_FILES = sorted(CONF_DIR.rglob("*.yaml"))
KEY_VALUE = re.compile(r"^\s*[A-Za-z_][\w.\-]*:\s*[^\s#]")


def _rel(path: Path) -> str:
    return str(path.relative_to(CONF_DIR))


def test_yaml_files_are_found():
    assert len(YAML_FILES) >= 10


@pytest.mark.parametrize("path", YAML_FILES, ids=_rel)
def test_yaml_first_line_says_how_to_use_it(path):
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    first = next(line for line in lines if not line.startswith("# @package"))
    assert first.startswith("#") and "r1pipe run" in first, f"{_rel(path)}: first line {first!r}"


def _undocumented_lines(text: str) -> list[str]:
    """`key: value` lines without a `#` comment, outside the defaults list."""
    missing, in_defaults = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("defaults:"):
            in_defaults = True
            continue
        if in_defaults and (line.startswith((" ", "\t")) or stripped.startswith("-")):
            continue  # entries of the defaults list
        in_defaults = False
        if KEY_VALUE.match(line) and "#" not in line:
            missing.append(line)
    return missing


@pytest.mark.parametrize("path", YAML_FILES, ids=_rel)
def test_yaml_values_are_commented(path):
    assert _undocumented_lines(path.read_text(encoding="utf-8")) == []


def test_undocumented_line_detector():
    # The checker itself: a bare value is caught, nested headers and defaults entries are not.
    text = "# r1pipe run x\ndefaults:\n  - toy\n  - _self_\nlora:\n  r: 16\n  alpha: 32  # doc\n"
    assert _undocumented_lines(text) == ["  r: 16"]


# --- bad overrides: every one reported in one ConfigError -----------------------------------------

BAD_OVERRIDES = [
    # (override, key the problem names, text expected in the message or fix)
    ("cold_start.lr=1e-4", "cold_start.lr", "cold_start.learning_rate"),
    ("seed=x", "seed", "x"),
    ("model=nope", "model", "toy"),
    ("stage=foo", "stage", "cold_start"),
    ("eval.temprature=0.7", "eval.temprature", "eval.temperature"),
]


def _problems_of(overrides: list[str]):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)
    return info.value.problems


@pytest.mark.parametrize(("override", "key", "hint"), BAD_OVERRIDES, ids=[o for o, _, _ in BAD_OVERRIDES])
def test_bad_override_is_explained(override, key, hint):
    problems = _problems_of([override])
    assert [p.key for p in problems] == [key]
    assert hint in f"{problems[0].message} {problems[0].fix}"


def test_all_bad_overrides_reported_together():
    good = ["cold_start.learning_rate=0.1", "eval=paper"]  # valid overrides add no problem
    overrides = [good[0], *(o for o, _, _ in BAD_OVERRIDES[:4]), good[1]]
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)
    error = info.value
    assert [p.key for p in error.problems] == ["cold_start.lr", "seed", "model", "stage"]
    text = str(error)
    assert text.startswith("4 config problem(s)")
    for key in ("cold_start.lr", "seed", "model", "stage", "cold_start.learning_rate"):
        assert key in text


def test_unparsable_override_is_a_config_error():
    problems = _problems_of(["seed"])  # no '='
    assert problems[0].key == "<command line>"


def test_launcher_env_takes_new_entries_with_plus_and_says_so():
    assert compose_config(["+launcher.env.FOO=bar"]).launcher.env == {"FOO": "bar"}
    problems = _problems_of(["launcher.env={FOO:bar}"])
    assert problems[0].key == "launcher.env" and "+launcher.env" in problems[0].fix


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cold_start.lr", "cold_start.learning_rate"),  # by initials
        ("cold_start.learning_rat", "cold_start.learning_rate"),  # by spelling, same parent
        ("eval.temprature", "eval.temperature"),
        ("sed", "seed"),
    ],
)
def test_closest_keys(key, expected):
    assert expected in closest_keys(key, schema_keys())


# --- semantic problems: composition succeeds, validation names the key ----------------------------


def _jsonl_without_messages(tmp: Path) -> str:
    path = tmp / "sft.jsonl"
    path.write_text(json.dumps({"prompt": "1 + 1?", "completion": "2"}) + "\n", encoding="utf-8")
    return str(path)


def _dir_without_config(tmp: Path) -> str:
    path = tmp / "not_a_model"
    path.mkdir(exist_ok=True)
    return str(path)


# (id, overrides given tmp_path, key the problem must name)
SEMANTIC = [
    ("save_steps=0", lambda t: ["cold_start.save_steps=0"], "cold_start.save_steps"),
    ("learning_rate<0", lambda t: ["cold_start.learning_rate=-1"], "cold_start.learning_rate"),
    ("warmup_ratio=1", lambda t: ["cold_start.warmup_ratio=1"], "cold_start.warmup_ratio"),
    ("resume=missing", lambda t: [f"cold_start.resume={t}/no/step_000001"], "cold_start.resume"),
    ("temperature<0", lambda t: ["eval.temperature=-1"], "eval.temperature"),
    ("top_p=2", lambda t: ["eval.top_p=2"], "eval.top_p"),
    (
        "heldout share beyond the toy base's",
        lambda t: ["data.toy.heldout_fraction=0.2"],
        "data.toy.heldout_fraction",
    ),
    ("toy digits 6", lambda t: ["data.toy.digits=6"], "data.toy.digits"),
    ("init_model w/o config.json", lambda t: [f"init_model={_dir_without_config(t)}"], "init_model"),
    (
        "model dir w/o config.json",
        lambda t: [f"model.name_or_path={_dir_without_config(t)}"],
        "model.name_or_path",
    ),
    ("missing data file", lambda t: ["data.cold_start.path=/does/not/exist.jsonl"], "data.cold_start.path"),
    (
        "no messages column",
        lambda t: [f"data.cold_start.path={_jsonl_without_messages(t)}"],
        "data.cold_start.messages_column",
    ),
    ("unknown pipeline stage", lambda t: ["pipeline.stages=[bogus]"], "pipeline.stages"),
    ("empty pipeline", lambda t: ["pipeline.stages=[]"], "pipeline.stages"),
    ("unknown from_stage", lambda t: ["from_stage=bogus"], "from_stage"),
    ("stage and from_stage", lambda t: ["stage=cold_start", "from_stage=cold_start"], "from_stage"),
    ("dtype", lambda t: ["model.dtype=fp8"], "model.dtype"),
    ("toy digits", lambda t: ["data.toy.digits=7"], "data.toy.digits"),
    ("reward", lambda t: ["reward.accuracy=nope"], "reward.accuracy"),
    ("stage-3 judge", lambda t: ["rejection.accuracy=nope"], "rejection.accuracy"),
    ("launcher kind", lambda t: ["launcher.kind=mpi"], "launcher.kind"),
    (
        "slurm uneven nodes",
        lambda t: ["launcher=slurm", "launcher.num_processes=3"],
        "launcher.num_processes",
    ),
    (
        "accelerate config missing",
        lambda t: [f"launcher.accelerate_config={t}/none.yaml"],
        "launcher.accelerate_config",
    ),
    ("zero3 without deepspeed", lambda t: ["launcher.accelerate_config=zero3"], "launcher.accelerate_config"),
    (
        "preference window",
        lambda t: ["all_scenario_rl.preference_last_steps=-2"],
        "all_scenario_rl.preference_last_steps",
    ),
    ("general share", lambda t: ["data.general_prompts.fraction=1"], "data.general_prompts.fraction"),
    (
        "missing general prompts",
        lambda t: ["data.general_prompts.path=/no/g.jsonl"],
        "data.general_prompts.path",
    ),
    (
        "unknown toy judge",
        lambda t: ["reward.models.helpful.model_dir=toy:polite"],
        "reward.models.helpful.model_dir",
    ),
    ("no route for general prompts", lambda t: ["~reward.routing.routes.general"], "reward.routing.routes"),
    (
        "no route for the toy's number-word requests",
        lambda t: ["~reward.routing.routes.number_word"],
        "reward.routing.routes",
    ),
]


def _ids(rows) -> list[str]:
    return [row.values[0] if hasattr(row, "values") else row[0] for row in rows]


@pytest.mark.parametrize(("case", "overrides", "key"), SEMANTIC, ids=_ids(SEMANTIC))
def test_semantic_problem_names_the_key(tmp_path, case, overrides, key):
    cfg = compose_config(overrides(tmp_path))
    problems = config_problems(cfg)
    assert key in [p.key for p in problems], _problem_summary(problems)
    assert all(p.message and p.fix for p in problems)


def test_several_semantic_problems_are_all_reported(tmp_path):
    overrides = [
        "cold_start.save_steps=0",
        "eval.top_p=2",
        f"init_model={_dir_without_config(tmp_path)}",
        f"data.cold_start.path={_jsonl_without_messages(tmp_path)}",
        "data.heldout.path=/does/not/exist.jsonl",
        "pipeline.stages=[cold_start,bogus]",
        "stage=cold_start",
        "from_stage=cold_start",
    ]
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    problems = info.value.problems
    keys = {p.key for p in problems}
    expected = {
        "cold_start.save_steps",
        "eval.top_p",
        "init_model",
        "data.cold_start.messages_column",
        "data.heldout.path",
        "pipeline.stages",
        "from_stage",
    }
    assert expected <= keys, _problem_summary(problems)
    assert problems == config_problems(cfg)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["reward.funcs=[toy_accuracy,nope]", "reward.weights=[1,1]"], "reward.funcs"),
        (["reward.funcs=[toy_accuracy]", "reward.weights=[1,1]"], "reward.weights"),
        (["reward.on_failure=ignore"], "reward.on_failure"),
        (["reward.timeout_s=0"], "reward.timeout_s"),
        (["reward.without_think_end=anywhere"], "reward.without_think_end"),
    ],
)
def test_reward_config_problems_name_the_key(overrides, key):
    problems = config_problems(compose_config(overrides))
    assert key in [p.key for p in problems]
    if key == "reward.funcs":
        assert "toy_accuracy" in next(p.fix for p in problems if p.key == key), (
            "the fix lists registered names"
        )


def test_code_rewards_without_sandbox_namespaces_are_reported_before_any_work(monkeypatch):
    """Where the sandbox cannot make its namespaces, a config that runs model code is a problem
    naming reward.code.allow_unsandboxed; a config without code rewards is not."""
    from r1pipe.rewards import sandbox

    monkeypatch.setattr(sandbox, "_USE_NAMESPACES", False)
    code = ["reward.funcs=[code_accuracy]", "reward.weights=[1]"]
    assert "reward.code.allow_unsandboxed" in [p.key for p in config_problems(compose_config(code))]
    allowed = compose_config([*code, "reward.code.allow_unsandboxed=true"])
    assert "reward.code.allow_unsandboxed" not in [p.key for p in config_problems(allowed)]
    assert "reward.code.allow_unsandboxed" not in [p.key for p in config_problems(compose_config([]))]


def test_stage_four_checks_only_apply_when_it_is_in_the_pipeline():
    overrides = ["~reward.routing.routes.general", "all_scenario_rl.preference_last_steps=-2"]
    assert config_problems(compose_config(["pipeline=r1_zero", *overrides])) == []
    assert len(config_problems(compose_config(overrides))) == 2


@pytest.mark.parametrize(
    ("experiment", "parallelism"), [("r1_qwen2.5_1.5b", "ddp"), ("r1_qwen2.5_7b", "fsdp")]
)
def test_real_scale_presets_run_the_four_stages_with_hub_reward_models_and_a_judge(
    experiment, parallelism, tmp_path
):
    """Nothing toy left in the real-scale presets: hub data, reward models by hub id, a generative
    judge, vLLM for sampling; --dry-run's plan and launch lines (from the same functions)."""
    from r1pipe.cli import describe_launches
    from r1pipe.pipeline.orchestrator import prepare

    cfg = compose_config([f"experiment={experiment}", f"run_dir={tmp_path / 'run'}"])
    assert list(cfg.pipeline.stages) == [
        "cold_start",
        "reasoning_rl",
        "rejection_sampling",
        "all_scenario_rl",
    ]
    assert cfg.generation.backend == "vllm" and cfg.rejection.judge.model == "Qwen/Qwen2.5-7B-Instruct"
    used = {name for route in cfg.reward.routing.routes.values() for name in route} & set(cfg.reward.models)
    assert used == {"helpful", "harmless"}
    assert {cfg.reward.models[n].model_dir for n in used} == {"Skywork/Skywork-Reward-V2-Qwen3-1.7B"}
    assert "toy" not in (cfg.data.general_prompts.path, cfg.data.non_reasoning.path)
    plan = prepare(cfg, hub=False)  # the hub, which this machine cannot reach: test_hub_inputs.py
    assert [s.action for s in plan.stages] == ["run"] * 4
    launches = describe_launches(cfg, plan)
    assert f"train: accelerate launch: 8 processes on 1 machine(s), {parallelism}, bf16" in launches
    assert (
        "rejection_sampling   prepare: 8 processes sampling data-parallel (tensor parallel 1 each); train:"
        in launches
    )
    finish = "finish (hand-off check and scoring on the main process, evaluation): 8 processes sampling data-parallel"
    assert launches.count(finish) == 4


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("experiment=toy_qick", "did you mean experiment=toy_quick?"),  # optional group: Hydra ignored it
        ("reasoning_rl=papr", "did you mean reasoning_rl=paper?"),
        ("launcher=kubernetes", "choose one of: accelerate, local, slurm"),
    ],
)
def test_a_group_option_that_does_not_exist_is_refused_with_the_options(override, hint):
    from r1pipe.pipeline.compose import ConfigError, compose_config

    with pytest.raises(ConfigError) as raised:
        compose_config([override])
    assert hint in str(raised.value) and f"from `{override}`" in str(raised.value)


@pytest.mark.parametrize(
    ("override", "accepted"),
    [
        ("+cold_start.foo=1", False),  # Hydra took it, nothing read it, and it changed the fingerprint
        ("+foo=1", False),
        ("+launcher.env.FOO=bar", True),  # free-form fields take new entries
        ("+reward.models.mine={model_dir:/m}", True),
    ],
)
def test_plus_adds_keys_only_below_free_form_fields(override, accepted):
    from r1pipe.pipeline.compose import ConfigError, compose_config

    if accepted:
        compose_config([override])
        return
    with pytest.raises(ConfigError, match="unknown key .* has no such setting"):
        compose_config([override])


@pytest.mark.parametrize(
    ("third_line", "problem"),
    [
        ("{not json", "line 3 is not valid JSON"),
        ('["a", "list"]', "line 3: is a list, not a JSON object"),
        ('{"text": "no messages"}', "line 3: has no ['messages']"),
    ],
)
def test_a_bad_line_deep_in_a_data_file_is_found_before_any_work(tmp_path, third_line, problem):
    """Validation used to read the first line only: the stage then failed after its work began."""
    from r1pipe.pipeline.validate import config_problems

    good = json.dumps(
        {"messages": [{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}]}
    )
    data = tmp_path / "sft.jsonl"
    data.write_text(f"{good}\n{good}\n{third_line}\n{good}\n")
    found = [
        p for p in config_problems(compose_config([f"data.cold_start.path={data}"])) if problem in p.message
    ]
    assert found and found[0].key == "data.cold_start.path", [str(p) for p in found]


# --- ranges and choices declared on the schema (issue 16): the cases whose wording changed -------
# Before, each was a hand-written check in validate.py; now the schema field declares its Range or
# OneOf and every such problem reads the same way. Old wording on the right, for the record.
DECLARED_WORDING = [
    ("model.dtype=fp8", "model.dtype", "unknown value 'fp8'", "use auto | float32"),  # unknown dtype
    ("data.toy.digits=9", "data.toy.digits", "must be in [1, 5], got 9", "2 is the default"),  # must be 1..5
    (
        "cold_start.save_total_limit=0",
        "cold_start.save_total_limit",
        "must be >= 1, got 0",
        "resume",
    ),  # >= 1 to resume
    ("reasoning_rl.sync_probe_prompts=0", "reasoning_rl.sync_probe_prompts", "must be >= 1, got 0", "e.g. 4"),
    ("reasoning_rl.sync_probe_every=-1", "reasoning_rl.sync_probe_every", "must be >= 0, got -1", "off"),
    (
        "rejection.samples_per_prompt=0",
        "rejection.samples_per_prompt",
        "must be > 0, got 0",
        "positive",
    ),  # no value
    (
        "rejection.top_p=2",
        "rejection.top_p",
        "must be in (0, 1], got 2.0",
        "0.95",
    ),  # was under rejection.temperature
    ("rejection.temperature=-1", "rejection.temperature", "must be >= 0, got -1.0", "0.7"),
    (
        "rejection.dedup.near_threshold=2",
        "rejection.dedup.near_threshold",
        "must be in [0, 1], got 2.0",
        "share",
    ),
    ("rejection.non_reasoning_ratio=-1", "rejection.non_reasoning_ratio", "must be >= 0, got -1.0", "3.0"),
    (
        "generation.backend=onnx",
        "generation.backend",
        "unknown value 'onnx'",
        "transformers | vllm | auto",
    ),  # twice
    (
        "reward.on_failure=retry",
        "reward.on_failure",
        "unknown value 'retry'",
        "none | zero | penalty",
    ),  # policy
    (
        "reward.without_think_end=x",
        "reward.without_think_end",
        "unknown value 'x'",
        "no_answer or whole_text",
    ),
    (
        "+reward.models.rm={model_dir:'toy:helpful',normalize:tanh}",
        "reward.models.rm.normalize",
        "unknown value 'tanh'",
        "sigmoid",
    ),
    (
        "+reward.models.rm={model_dir:'toy:helpful',target:cot}",
        "reward.models.rm.target",
        "unknown value 'cot'",
        "summary",
    ),
    (
        "launcher.kind=k8s",
        "launcher.kind",
        "unknown value 'k8s'",
        "local | accelerate | slurm",
    ),  # unknown launcher
    (
        "launcher.num_machines=0",
        "launcher.num_machines",
        "must be >= 1, got 0",
        "one per node",
    ),  # both keys at once
    ("log_level=LOUD", "log_level", "unknown value 'LOUD'", "DEBUG | INFO"),  # unknown level
    (
        "eval.suite.heldout.samples_per_problem=0",
        "eval.suite.heldout.samples_per_problem",
        "must be >= 1, got 0",
        "null",
    ),
    (
        "+eval.suite.x={kind:essay,path:x.jsonl}",
        "eval.suite.x.kind",
        "unknown value 'essay'",
        "heldout | math",
    ),
]


@pytest.mark.parametrize(
    ("override", "key", "message", "fix"), DECLARED_WORDING, ids=[row[0] for row in DECLARED_WORDING]
)
def test_a_value_outside_its_declared_range_or_choices_names_key_value_and_fix(override, key, message, fix):
    extra = ["eval.benchmarks=[heldout,x]"] if override.startswith("+eval.suite.x") else []
    problems = [p for p in config_problems(compose_config([override, *extra])) if p.key == key]
    assert len(problems) == 1, problems
    assert message in problems[0].message and fix in problems[0].fix, problems[0]


def test_every_declared_choice_is_the_codes_own():
    """The code reads its choices from the schema; the one Literal kept for type checkers agrees."""
    from typing import get_args

    from r1pipe.config import schema
    from r1pipe.evaluation.benchmarks import KINDS
    from r1pipe.generation import BACKENDS
    from r1pipe.rewards.answers import WithoutThinkEnd
    from r1pipe.training.grpo import GENERATION_MODES

    assert get_args(WithoutThinkEnd) == schema.WITHOUT_THINK_END
    assert (BACKENDS, KINDS, GENERATION_MODES) == (
        schema.BACKENDS,
        schema.BENCHMARK_KINDS,
        schema.RL_GENERATION,
    )


@pytest.mark.parametrize(
    ("rule", "value", "message"),
    [
        ("POSITIVE", 0, "must be > 0, got 0"),
        ("SHARE", 1.5, "must be in [0, 1], got 1.5"),
        ("TOP_P", 0, "must be in (0, 1], got 0"),
        ("NON_NEGATIVE", -2, "must be >= 0, got -2"),
    ],
)
def test_range_messages(rule, value, message):
    from r1pipe.config import schema

    assert getattr(schema, rule).problem(value) == message
    assert getattr(schema, rule).problem(None) is None  # an optional setting left off


# Every logger a used stage reports to is known and installed, or validate says so with the
# install command (issue 30, finding 1: the paper presets' `report_to: [tensorboard]` used to
# stop stage 1 when it built its trainer, after `r1pipe validate` had passed).
LOGGER_CASES = [
    (["cold_start.report_to=[tensorboard]"], None, None),
    (["cold_start.report_to=[none]"], None, None),
    (["cold_start.report_to=[wandb]"], "cold_start.report_to", "pip install wandb"),
    (["reasoning_rl.report_to=[tensorbord]"], "reasoning_rl.report_to", "use any of: tensorboard"),
    (["rejection.train.report_to=[mlflow]"], "rejection.train.report_to", "pip install mlflow"),
]


@pytest.mark.parametrize(("overrides", "key", "fix"), LOGGER_CASES)
def test_loggers_are_installed_or_refused_with_the_install_command(overrides, key, fix):
    problems = [p for p in config_problems(compose_config(overrides)) if "report_to" in p.key]
    if key is None:
        assert problems == []
    else:
        assert [p.key for p in problems] == [key] and fix in problems[0].fix


def test_the_paper_presets_loggers_are_dependencies():
    for preset in ("r1_qwen2.5_1.5b", "r1_qwen2.5_7b"):
        cfg = compose_config([f"experiment={preset}"])
        assert "tensorboard" in cfg.cold_start.report_to
        assert [p for p in config_problems(cfg) if "report_to" in p.key] == []


@pytest.mark.parametrize("preset", ["r1_qwen2.5_1.5b", "r1_qwen2.5_7b"])
@pytest.mark.parametrize(("launcher", "processes"), [("local", 1), ("accelerate", 8), ("slurm", 16)])
def test_the_paper_presets_take_the_launchers_own_process_count(preset, launcher, processes):
    # Issue 30, finding 6: `launcher=local` (a one-GPU user's first try) was refused because the
    # preset's own `num_processes: 8` outlived the launcher choice.
    cfg = compose_config([f"experiment={preset}", f"launcher={launcher}"])
    assert (cfg.launcher.kind, cfg.launcher.num_processes) == (launcher, processes)
    assert [p for p in config_problems(cfg) if p.key.startswith("launcher")] == []


# Issue 31, point 3: a run_dir that cannot be a run directory is refused by validate, not met as
# FileExistsError / PermissionError once the run starts. (Unwritable dirs: root writes anywhere,
# so the test machine, which runs as root, checks only files in the way.)
@pytest.mark.parametrize(
    ("where", "says"),
    [("file", "is a file, not a directory"), ("file/run", "is a file, so"), ("new/run", None), ("", None)],
)
def test_run_dir_must_be_a_directory_that_can_be_written(tmp_path, where, says):
    (tmp_path / "file").write_text("not a directory")
    problems = [
        p for p in config_problems(compose_config([f"run_dir={tmp_path / where}"])) if p.key == "run_dir"
    ]
    assert [p.message for p in problems if says and says in p.message] == [p.message for p in problems]
    assert bool(problems) == bool(says)
