"""Generation with transformers `generate`: batched, left-padded, `n` samples per prompt.

The fallback engine and the CPU default for tiny models (no server start-up, no KV-cache
reservation). vLLM is faster on GPUs; `scripts/bench_generation.py` measures the two side by side.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from omegaconf import DictConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from r1pipe.data.prompt_length import model_positions
from r1pipe.generation.base import FinishReason, Sample, Sampling, encoded_prompts, stop_token_ids

log = logging.getLogger(__name__)


AUTO_THREADS = -1  # generation.cpu_decode_threads=-1: all threads while the machine is otherwise idle
# Other processes' CPU use, in cores, at or above which `auto` decodes in one thread: half a core
# busy elsewhere already preempts one of two decoding threads often enough to stall the other.
BUSY_ELSEWHERE_CORES = 0.5


def _cpu_seconds() -> tuple[float, float, float] | None:
    """(wall clock, CPU seconds the whole machine has been busy, CPU seconds of this process's
    work: its threads and its live descendants, such as reward workers) from Linux's /proc;
    None where there is none (macOS, Windows)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    busy = sum(values) - values[3] - values[4]
    own = os.times()
    ticks = os.sysconf("SC_CLK_TCK")
    return time.monotonic(), busy / ticks, own.user + own.system + _descendants_ticks() / ticks


def _descendants_ticks() -> int:
    """CPU ticks of this process's live descendants (utime, stime and their reaped children's),
    from /proc/<pid>/task/<tid>/children and /proc/<pid>/stat; 0 for any that cannot be read."""
    total, pending = 0, [str(os.getpid())]
    while pending:
        pid = pending.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                    children = f.read().split()
            except OSError:
                continue
            for child in children:
                try:
                    with open(f"/proc/{child}/stat", encoding="ascii", errors="replace") as f:
                        fields = f.read().rsplit(")", 1)[1].split()  # after the command name
                    total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
                except (OSError, IndexError, ValueError):
                    continue
                pending.append(child)
    return total


_last_look: tuple[float, float, float] | None = None
_last_answer: float | None = None


def busy_elsewhere(first_window_s: float = 0.2, min_window_s: float = 1.0) -> float | None:
    """How many cores other processes kept busy since this process last asked (the first time:
    over `first_window_s`), or None where the machine does not say. Asked again within
    `min_window_s` (consecutive generate batches), the last answer: the kernel counts in 10 ms
    ticks, too coarse for a shorter window. Considered: os.getloadavg(), which counts this
    process's own threads and lags a minute behind."""
    global _last_look, _last_answer
    now = _cpu_seconds()
    if now is None:
        return None
    if _last_look is None:
        time.sleep(first_window_s)
        _last_look, now = now, _cpu_seconds()
        assert now is not None
    elif now[0] - _last_look[0] < min_window_s and _last_answer is not None:
        return _last_answer
    wall, busy, own = (b - a for a, b in zip(_last_look, now, strict=True))
    _last_look = now
    _last_answer = max(0.0, busy - own) / wall if wall > 0 else None
    return _last_answer


def auto_decode_threads() -> int:
    """`generation.cpu_decode_threads=-1`: all of torch's threads (0) while no other process keeps
    the CPU busy, else 1 thread, which holds up beside busy processes where 2 decode 5-13x slower
    (docs/BENCHMARKS.md); 1 where the machine cannot tell."""
    global _last_choice
    others = busy_elsewhere()
    threads = 0 if others is not None and others < BUSY_ELSEWHERE_CORES else 1
    if threads != _last_choice:  # said when it changes, not at every batch
        _last_choice = threads
        log.info(
            "decoding on %s (generation.cpu_decode_threads=-1: %s)",
            f"all {torch.get_num_threads()} threads" if threads == 0 else "1 thread",
            "the machine cannot tell how busy it is"
            if others is None
            else f"other processes keep {others:.1f} cores busy",
        )
    return threads


_last_choice: int | None = None


@contextmanager
def decode_threads(threads: int, device: str) -> Iterator[None]:
    """Torch's intra-op threads set to `threads` while the body decodes on the CPU (0, or a GPU:
    unchanged; -1: `auto_decode_threads`), then restored. Considered: OMP_WAIT_POLICY=PASSIVE /
    GOMP_SPINCOUNT for the whole process: they cut the spinning too, but cost idle decoding up to
    ~50% and training its threads' benefit; one thread for decoding costs neither
    (docs/BENCHMARKS.md)."""
    if device == "cpu" and threads == AUTO_THREADS:
        threads = auto_decode_threads()
    if threads <= 0 or device != "cpu" or threads == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TransformersEngine:
    backend = "transformers"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        batch_size: int = 64,
        cpu_decode_threads: int = 0,
    ):
        # batch_size: prompts per generate call (each brings n sequences)
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.cpu_decode_threads = cpu_decode_threads  # generation.cpu_decode_threads (0: all, -1: auto)
        self._owns_model = False
        self.stop_ids = stop_token_ids(tokenizer, getattr(model.generation_config, "eos_token_id", None))

    @classmethod
    def from_dir(
        cls, path: str, model_cfg: DictConfig, batch_size: int = 64, cpu_decode_threads: int = 0
    ) -> TransformersEngine:
        """Load a model dir (r1pipe's chat template installed, see models.load_tokenizer)."""
        from r1pipe.training.models import load_model, load_tokenizer

        model = load_model(path, model_cfg)
        if torch.cuda.is_available():
            model.to("cuda")  # type: ignore[arg-type]  # (in place for a module)
        engine = cls(model, load_tokenizer(path, model_cfg), batch_size, cpu_decode_threads)
        engine._owns_model = True
        return engine

    @property
    def max_positions(self) -> int | None:
        """Tokens the model takes, prompt and completion together (None: not known)."""
        return model_positions(self.model.config)

    def generate(self, prompts: Sequence[str], prompt_ids: Sequence[str], sampling: Sampling) -> list[Sample]:
        encoded = encoded_prompts(
            self.tokenizer, prompts, prompt_ids, sampling.max_tokens, self.max_positions
        )
        torch.manual_seed(sampling.seed)
        self.model.eval()
        samples: list[Sample] = []
        t0 = time.time()
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            with decode_threads(self.cpu_decode_threads, self.model.device.type):
                new_tokens = self._generate_batch(batch, sampling)  # (B * n, T_new)
            for row, tokens in enumerate(new_tokens.tolist()):
                prompt_index, sample_index = start + row // sampling.n, row % sampling.n
                samples.append(self._sample(str(prompt_ids[prompt_index]), sample_index, tokens))
            if len(encoded) > self.batch_size:  # long work shows progress
                done = min(start + self.batch_size, len(encoded))
                log.info(
                    "generated %d/%d prompts x %d samples (%.0fs)",
                    done,
                    len(encoded),
                    sampling.n,
                    time.time() - t0,
                )
        return samples

    def _generate_batch(self, batch: list[list[int]], sampling: Sampling) -> torch.Tensor:
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch])  # left-padded
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch])
        sampled = sampling.temperature > 0
        with torch.no_grad():
            generated = self.model.generate(  # type: ignore[operator]
                input_ids=input_ids.to(self.model.device),
                attention_mask=attention.to(self.model.device),
                do_sample=sampled,
                temperature=sampling.temperature if sampled else None,
                top_p=sampling.top_p if sampled else None,
                top_k=0
                if sampled
                else None,  # temperature and top-p only (transformers defaults to top-k 50)
                max_new_tokens=sampling.max_tokens,
                num_return_sequences=sampling.n,
                pad_token_id=pad,
                eos_token_id=self.stop_ids,
            )  # (B * n, width + T_new)
        return generated[:, width:].cpu()

    def _sample(self, prompt_id: str, sample_index: int, tokens: list[int]) -> Sample:
        end = next((i for i, token in enumerate(tokens) if token in self.stop_ids), None)
        finish: FinishReason = "length" if end is None else "stop"
        kept = tokens if end is None else tokens[: end + 1]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return Sample(prompt_id, sample_index, str(text), len(kept), finish)

    def close(self) -> None:
        """Free the model when this engine loaded it (a model passed in belongs to the caller)."""
        if self._owns_model:
            del self.model
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
