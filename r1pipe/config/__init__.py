"""The config: schema (dataclasses in Hydra's ConfigStore), composing conf/ with overrides, validation."""
