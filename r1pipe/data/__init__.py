"""Data: datasets of every stage and prompts that must fit the model."""
