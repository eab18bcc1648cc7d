"""Training: SFT and GRPO on TRL's trainers, the RL lifecycle, watchers, the learning-signal check."""
