"""The config schema (dataclasses in Hydra's ConfigStore), its problems, and the per-section checks the
stages call. Composing conf/ and whole-config validation live in pipeline/."""
