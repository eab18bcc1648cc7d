"""The run-directory ground every stage stands on: the run dir and its files, fingerprints, the stage
contract (StageSpec, StageContext, StageResult), logs, interrupts, the process topology."""
