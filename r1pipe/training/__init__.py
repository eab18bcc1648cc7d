"""Training: models and chat templates, SFT and GRPO on TRL's trainers, the RL lifecycle, watchers."""
