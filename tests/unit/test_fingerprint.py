"""A stage's fingerprint depends on its own config keys and its inputs, and on nothing else."""

from __future__ import annotations

import pytest

from r1pipe.pipeline.compose import compose_config
from r1pipe.pipeline.stage_specs import STAGES
from r1pipe.run.fingerprint import changed_keys, fingerprint, select_keys

SPEC = STAGES["cold_start"]
COLD_START_KEYS = SPEC.config_keys
INPUTS = {"model": "0123456789abcdef"}


def stage_config(cfg) -> dict:
    """What make_plan fingerprints: the stage's keys without its operational ones."""
    return select_keys(cfg, SPEC.config_keys, SPEC.operational_keys)


@pytest.fixture(scope="module")
def base_cfg():
    return compose_config([])


def _fp(overrides: list[str], inputs: dict = INPUTS) -> str:
    return fingerprint(stage_config(compose_config(overrides)), inputs)


def test_same_config_same_fingerprint(base_cfg):
    again = compose_config([])
    assert fingerprint(stage_config(base_cfg), INPUTS) == fingerprint(stage_config(again), INPUTS)


def test_fingerprint_ignores_dict_order():
    a = fingerprint({"x": 1, "y": {"p": 1, "q": 2}}, {"model": "m"})
    b = fingerprint({"y": {"q": 2, "p": 1}, "x": 1}, {"model": "m"})
    assert a == b
    assert len(a) == 16


@pytest.mark.parametrize(
    "override",
    [
        "cold_start.learning_rate=0.123",
        "seed=7",
        "model.dtype=bfloat16",
        "data.toy.digits=3",
        "data.cold_start.num_examples=10",
        "cold_start.lora.r=4",
        "cold_start=paper",
    ],
)
def test_stage_key_change_changes_fingerprint(override):
    assert _fp([override]) != _fp([])


@pytest.mark.parametrize(
    "override",
    [
        "launcher=accelerate",
        "launcher.num_processes=4",
        "eval.top_p=0.5",
        "eval=paper",
        "log_level=DEBUG",
        "force=true",
        "run_dir=/tmp/elsewhere",
        "generation.backend=vllm",
        "reward=math",
    ],
)
def test_keys_outside_the_stage_do_not_change_selection(base_cfg, override):
    assert select_keys(compose_config([override]), COLD_START_KEYS) == select_keys(base_cfg, COLD_START_KEYS)


@pytest.mark.parametrize(
    "override",
    [
        "cold_start.logging_steps=1",
        "cold_start.save_steps=3",
        "cold_start.save_total_limit=9",
        "cold_start.resume=false",
        "cold_start.report_to=[tensorboard]",
    ],
)
def test_operational_keys_do_not_change_fingerprint(override):
    assert _fp([override]) == _fp([])


def test_operational_keys_are_left_out_of_the_stage_config(base_cfg):
    selected = stage_config(base_cfg)
    assert {k.rpartition(".")[2] for k in SPEC.operational_keys}.isdisjoint(selected["cold_start"])
    assert "learning_rate" in selected["cold_start"]
    assert "save_steps" in select_keys(base_cfg, SPEC.config_keys)["cold_start"]  # only when asked


@pytest.mark.parametrize(
    ("ignore", "gone", "kept"),
    [
        (("cold_start.save_steps",), ("cold_start", "save_steps"), ("cold_start", "learning_rate")),
        (
            ("cold_start.lora.dropout",),
            ("cold_start", "lora", "dropout"),
            ("cold_start", "lora", "r"),
        ),  # nested
        (("data.toy.seed",), ("data.toy", "seed"), ("data.toy", "digits")),  # under a dotted top-level key
        (("no.such.key", "cold_start.nope"), None, ("cold_start", "save_steps")),  # unknown: ignored quietly
    ],
)
def test_select_keys_ignore(base_cfg, ignore, gone, kept):
    selected = select_keys(base_cfg, ("cold_start", "data.toy", "seed"), ignore)

    def has(path) -> bool:
        node = selected
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    assert gone is None or not has(gone)
    assert has(kept)


@pytest.mark.parametrize("ignored", ["seed", "data.toy"])
def test_select_keys_can_ignore_a_selected_key(base_cfg, ignored):
    assert ignored not in select_keys(base_cfg, ("cold_start", "data.toy", "seed"), (ignored,))


def test_input_fingerprint_change_changes_fingerprint(base_cfg):
    selected = stage_config(base_cfg)
    assert fingerprint(selected, {"model": "aaaa"}) != fingerprint(selected, {"model": "bbbb"})


def test_select_keys_gives_plain_containers(base_cfg):
    selected = select_keys(base_cfg, ("cold_start", "data.toy.languages", "seed", "no.such.key"))
    assert isinstance(selected["cold_start"], dict) and isinstance(selected["cold_start"]["lora"], dict)
    assert selected["data.toy.languages"] == ["en", "zh"] and type(selected["data.toy.languages"]) is list
    assert selected["seed"] == 42
    assert selected["no.such.key"] is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({}, {}, []),
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, ["a"]),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}, ["a.c"]),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}, ["a.b.c"]),
        ({"a": 1}, {"a": 1, "b": 2}, ["b"]),  # added
        ({"a": 1, "b": 2}, {"a": 1}, ["b"]),  # removed
        ({"a": [1, 2]}, {"a": [1, 3]}, ["a"]),  # lists compare whole
        ({"a": {"b": 1}}, {"a": 5}, ["a"]),  # dict replaced by a scalar
        ({"z": 1, "a": 1}, {"z": 2, "a": 2}, ["a", "z"]),  # sorted
    ],
)
def test_changed_keys(old, new, expected):
    assert changed_keys(old, new) == expected


def test_changed_keys_on_real_stage_config(base_cfg):
    old = stage_config(base_cfg)
    new = stage_config(
        compose_config(["cold_start.learning_rate=0.5", "data.toy.digits=3", "cold_start.save_steps=1"])
    )
    assert changed_keys(old, new) == ["cold_start.learning_rate", "data.toy.digits"]


def _stage_fp(stage: str, overrides: list[str]) -> str:
    spec = STAGES[stage]
    return fingerprint(
        select_keys(compose_config(overrides), spec.config_keys, spec.operational_keys), INPUTS
    )


# Which RL stages a change re-runs (through the input chain, stage 4 also follows stage 2).
@pytest.mark.parametrize(
    ("override", "reasoning_rl", "all_scenario_rl"),
    [
        ("all_scenario_rl.preference_last_steps=3", False, True),
        ("all_scenario_rl.temperature=1.0", False, True),
        ("data.general_prompts.fraction=0.25", False, True),
        ("reward.routing.routes.general.helpful=2.0", False, True),  # stage 2 sums reward.funcs
        ("reward.models.helpful.normalize=none", True, True),  # reward.funcs may name a reward model
        ("reward.weights=[1.0,1.0,2.0]", True, True),
        ("reasoning_rl.temperature=0.9", True, False),
        ("all_scenario_rl.sample_every=1", False, False),  # operational
        ("all_scenario_rl.save_steps=7", False, False),
        ("reward.workers=3", False, False),
    ],
)
def test_rl_stage_fingerprints(override, reasoning_rl, all_scenario_rl):
    for stage, changes in (("reasoning_rl", reasoning_rl), ("all_scenario_rl", all_scenario_rl)):
        assert (_stage_fp(stage, [override]) != _stage_fp(stage, [])) is changes, stage


# --- one key for "is this stored result still valid?" ---------------------------------------------


def test_settings_key_is_canonical_and_still_valid_compares_with_it():
    from r1pipe.run.fingerprint import settings_key, still_valid

    assert settings_key({"a": 1, "b": [1, 2]}) == settings_key({"b": [1, 2], "a": 1})
    assert settings_key({"a": 1}) != settings_key({"a": 2})
    assert still_valid(settings_key({"a": 1}), {"a": 1})
    assert not still_valid(settings_key({"a": 1}), {"a": 2})
    assert not still_valid(None, {"a": 1}) and not still_valid(123, {"a": 1})


def test_every_reuse_decision_uses_the_same_key():
    """The plan, stage 3's steps, the toy judges and evaluation key their results with settings_key,
    so a result made from the same settings is recognised the same way everywhere."""
    from r1pipe.evaluation.benchmarks import load_benchmark
    from r1pipe.evaluation.loop import protocol
    from r1pipe.evaluation.stage_eval import _same_protocol
    from r1pipe.rejection.store import step_key
    from r1pipe.run.fingerprint import fingerprint, settings_key
    from r1pipe.toy.reward_models import judge_fingerprint, judge_settings

    assert fingerprint({"x": 1}, {"model": "m"}) == settings_key(
        {"config": {"x": 1}, "inputs": {"model": "m"}}
    )
    assert step_key("prev", {"n": 4}) == settings_key({"previous": "prev", "settings": {"n": 4}})
    assert judge_fingerprint("helpful") == settings_key(judge_settings("helpful"))

    cfg = compose_config(["eval.num_problems=4"])
    bench = load_benchmark(cfg, "heldout")
    recorded = {"metrics": {}, "protocol_key": settings_key(protocol(bench, cfg.eval))}
    assert _same_protocol(recorded, bench, cfg)
    hotter = compose_config(["eval.num_problems=4", "eval.temperature=0.9"])
    assert not _same_protocol(recorded, load_benchmark(hotter, "heldout"), hotter)
    assert not _same_protocol({"metrics": {}}, bench, cfg)  # recorded before protocol keys: measured again
