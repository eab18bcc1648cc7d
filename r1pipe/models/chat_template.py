"""Chat templates in the R1 output format.

The assistant turn is `<think>\\n reasoning \\n</think>\\n\\n summary`, closed by `<|im_end|>`, which
is also the EOS that generation stops on (a model that does not stop writes a second answer).
The `{% generation %}` markers let TRL's SFTTrainer (`assistant_only_loss=True`) put the loss on
the assistant turn only, end-of-turn token included, so the model learns to stop.
"""

from __future__ import annotations

# ChatML framing, as Qwen2/Qwen2.5 use it; `add_generation_prompt` opens the assistant turn and
# does not prefill `<think>` (the format reward accepts both, see R1_RECIPE.md Templates).
R1_CHATML = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# R1-Zero's raw-text template for a base model (R1_RECIPE.md, Templates): no chat framing, the
# question inline, the completion continues after "Assistant:". Used by pipeline=r1_zero.
R1_ZERO_PREFIX = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
    "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. User: "
)
R1_ZERO = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- '"
    + R1_ZERO_PREFIX
    + "' + message['content'] + ' Assistant:' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{%- generation -%}{{- ' ' + message['content'] + eos_token -}}{%- endgeneration -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

TEMPLATES = {"r1_chatml": R1_CHATML, "r1_zero": R1_ZERO}
END_OF_TURN = "<|im_end|>"


def r1_chatml_ending_with(end_of_turn: str) -> str:
    """R1_CHATML closing each turn with `end_of_turn` instead of `<|im_end|>`: for a tokenizer that
    has no `<|im_end|>` (Llama, Mistral, Gemma), its own EOS, which the base model already emits
    at the end of a text and generation stops on. `<|im_start|>` stays as plain text.
    (TRL's `clone_chat_template` would add ChatML tokens and resize the embeddings instead: the new
    end-of-turn row starts untrained, and a model that has not learnt it never stops.)"""
    quoted = end_of_turn.replace("\\", "\\\\").replace("'", "\\'")
    return R1_CHATML.replace(END_OF_TURN, quoted)
