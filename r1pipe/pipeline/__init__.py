"""The pipeline: orchestrator, plan, stage specs and the stage process, launchers, status, composing
the config and validating it whole."""
