"""Faults injected into every Python process of a test run, to prove that r1pipe catches them.

Put this directory on PYTHONPATH and name the fault in R1PIPE_TEST_FAULT; Python imports
`sitecustomize` at start-up, so the orchestrator's stage processes get the fault too.
- stale_tied_head: the weight sync skips the tied output head's refresh (r1pipe/generation/vllm_worker.py)
- engine_dtype_auto: the colocated engine is built with vLLM's dtype "auto" (fp32 -> bf16)
- disk_full_at_checkpoint: in stage processes, torch.save into a checkpoint raises ENOSPC (where
  no small tmpfs can be mounted to fill for real)
- sampling_rank_hangs: in stage 3, the process of rank 1 hangs before it samples its first shard
  (a stuck GPU, a dead NFS mount): the others must not wait for it forever
- lora_delta_twice: merging LoRA adapters adds their update twice (and unmerging takes it out
  twice), so the engine gets base + 2 x delta while the trainer computes base + delta: what a
  resumed LoRA run that applies its adapter twice sends (ms-swift#8233)
"""

import os

FAULT = os.environ.get("R1PIPE_TEST_FAULT", "")

if FAULT == "stale_tied_head":
    import r1pipe.generation.vllm_worker

    r1pipe.generation.vllm_worker.refresh_tied_head = lambda model: False
elif FAULT == "engine_dtype_auto":
    import r1pipe.generation.vllm_rollouts

    built_by = r1pipe.generation.vllm_rollouts.colocated_engine_arguments

    def without_dtype(*args, **kwargs):
        return {key: value for key, value in built_by(*args, **kwargs).items() if key != "dtype"}

    r1pipe.generation.vllm_rollouts.colocated_engine_arguments = without_dtype
elif FAULT == "disk_full_at_checkpoint":
    import sys

    if "r1pipe.pipeline.stage_process" in sys.orig_argv:  # the stage processes, not the orchestrator
        import errno

        import torch

        write = torch.save

        def no_space_in_checkpoints(obj, f, *args, **kwargs):
            if "checkpoint-" in str(f):
                raise OSError(errno.ENOSPC, "No space left on device", str(f))
            return write(obj, f, *args, **kwargs)

        torch.save = no_space_in_checkpoints
elif FAULT == "sampling_rank_hangs":
    if os.environ.get("RANK") == "1":
        import time

        import r1pipe.rejection.steps

        def hang(*args, **kwargs):
            time.sleep(3600)

        r1pipe.rejection.steps.generate_shard = hang
elif FAULT == "lora_delta_twice":
    from peft.tuners.lora import layer

    delta = layer.Linear.get_delta_weight
    layer.Linear.get_delta_weight = lambda self, adapter: 2 * delta(self, adapter)
elif FAULT:
    raise SystemExit(f"R1PIPE_TEST_FAULT={FAULT!r} is not a known fault")
