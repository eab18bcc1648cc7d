"""The stages come from their modules' SPECs: registry, schema section, `stage=NAME`, checks."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

from r1pipe.pipeline.compose import CONFIG_MODULE, compose_config, config_groups, group_options
from r1pipe.pipeline.root_schema import schema_sections
from r1pipe.pipeline.stage_specs import STAGES
from r1pipe.pipeline.validate import config_problems


def test_every_stage_module_declares_its_spec():
    assert list(STAGES) == ["cold_start", "reasoning_rl", "rejection_sampling", "all_scenario_rl", "distill"]
    for name, spec in STAGES.items():
        assert spec.module == f"r1pipe.stages.{name}"
        assert spec.section in schema_sections(), f"{name}: no section {spec.section} in the schema"
        assert spec.resume_key.startswith(spec.section + ".")


def test_stage_selectors_come_from_the_specs():
    # (a subset: a test elsewhere may have registered a fake stage in the process-wide ConfigStore)
    assert {"all", *STAGES} <= set(group_options("stage"))
    assert compose_config(["stage=rejection_sampling"]).stage == "rejection_sampling"


def test_a_stage_checks_its_section_only_when_the_pipeline_has_it():
    bad = ["rejection.keep=longest", "reasoning_rl.temperature=0"]
    in_r1 = {p.key for p in config_problems(compose_config(bad))}
    assert {"rejection.keep", "reasoning_rl.temperature"} <= in_r1
    in_zero = {p.key for p in config_problems(compose_config(["pipeline=r1_zero", *bad]))}
    assert "reasoning_rl.temperature" in in_zero and "rejection.keep" not in in_zero


def test_a_problem_two_stages_share_is_reported_once():
    # data.rl_prompts is read by stages 2 and 4
    problems = config_problems(compose_config(["data.rl_prompts.path=/no/such/file.jsonl"]))
    assert [p.key for p in problems].count("data.rl_prompts.path") == 1


def test_the_listing_names_every_config_group_in_conf():
    shipped = {p.name for p in resources.files(CONFIG_MODULE).iterdir() if p.is_dir()}
    assert set(config_groups()) == {g for g in shipped if not g.startswith("_")}
    listing = subprocess.run(
        [sys.executable, "-m", "r1pipe.cli", "list"], capture_output=True, text=True, check=True
    ).stdout
    for group in config_groups():
        if group != "stage":
            assert f"\n{group}: " in listing


HEAVY_MODULES = ("torch", "transformers", "trl", "datasets", "datasketch", "scipy", "pandas")


@pytest.mark.parametrize(
    "module", ["r1pipe.pipeline.stage_specs", "r1pipe.pipeline.orchestrator", "r1pipe.cli"]
)
def test_planning_imports_no_heavy_library(module: str):
    """The orchestrator imports every stage module for its SPEC, and every CLI command starts with
    it: planning must stay light (each of these libraries is 0.3-2 s of imports per process)."""
    code = f"import sys; import {module}; print(sorted(set({HEAVY_MODULES!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
