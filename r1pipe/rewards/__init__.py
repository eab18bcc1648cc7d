"""Rewards and verifiers. Importing this package registers every built-in reward.

answers.py       where the final answer is (after the last </think>): shared by every judge
accuracy.py      toy_accuracy, math_accuracy (math-verify), choice_accuracy (multiple choice)
deadline.py      a verifier's own time bound, strictly inside the guard's (same verdict every run)
format.py        r1_format, r1_zero_format (and split_think for other code)
general.py       general_match (requests with known good answers: the general benchmark)
language.py      language_consistency
length.py        soft_overlong (DAPO), repetition_penalty
code.py          code_accuracy (programs run in r1pipe.rewards.sandbox)
reward_model.py  reward-model rewards (helpfulness on the summary, harmlessness on all)
routing.py       per-sample routing by data type (stage 4 mixes rule and model rewards)
guard.py         worker processes, per-sample timeouts, failure counters (used by all callers)
"""

from r1pipe.rewards.accuracy import choice_accuracy, math_accuracy, toy_accuracy
from r1pipe.rewards.answers import completion_text, extract_answer, extract_choice, last_boxed
from r1pipe.rewards.code import code_accuracy, extract_code
from r1pipe.rewards.format import r1_format, r1_zero_format, split_think, with_think_prefilled
from r1pipe.rewards.general import general_match
from r1pipe.rewards.language import language_consistency, make_language_consistency
from r1pipe.rewards.length import (
    make_repetition_penalty,
    make_soft_overlong,
    repetition_penalty,
    soft_overlong,
)
from r1pipe.rewards.registry import REWARDS, RewardFn, get_reward, register
from r1pipe.rewards.reward_model import RewardModelReward, RewardModelScorer, make_reward_model_reward
from r1pipe.rewards.routing import RoutedReward, build_routed_reward

__all__ = [
    "REWARDS",
    "RewardFn",
    "RewardModelReward",
    "RewardModelScorer",
    "RoutedReward",
    "build_routed_reward",
    "choice_accuracy",
    "code_accuracy",
    "completion_text",
    "extract_answer",
    "extract_choice",
    "extract_code",
    "general_match",
    "get_reward",
    "language_consistency",
    "last_boxed",
    "make_language_consistency",
    "make_repetition_penalty",
    "make_reward_model_reward",
    "make_soft_overlong",
    "math_accuracy",
    "r1_format",
    "r1_zero_format",
    "register",
    "repetition_penalty",
    "soft_overlong",
    "split_think",
    "toy_accuracy",
    "with_think_prefilled",
]
