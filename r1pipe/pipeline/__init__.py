"""The pipeline: orchestrator, plan, stage specs and the stage process, launchers, the run directory."""
