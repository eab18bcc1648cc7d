"""Rewards and verifiers. Importing this package registers every built-in reward."""

from r1pipe.rewards.accuracy import math_accuracy, toy_accuracy
from r1pipe.rewards.answers import completion_text, extract_answer, last_boxed
from r1pipe.rewards.registry import REWARDS, RewardFn, get_reward, register

__all__ = [
    "REWARDS",
    "RewardFn",
    "completion_text",
    "extract_answer",
    "get_reward",
    "last_boxed",
    "math_accuracy",
    "register",
    "toy_accuracy",
]
