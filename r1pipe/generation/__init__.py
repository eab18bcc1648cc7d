"""Generation engines: one interface (`Engine.generate` -> `Sample` records), two implementations.

    with open_engine(path, cfg.model, cfg.generation) as engine:
        samples = engine.generate(prompts, ids, Sampling(n=4, temperature=0.7, max_tokens=256))

`generation.backend`: `vllm` (in-process vllm.LLM), `transformers` (`generate`, batched), or
`auto`: vLLM where it is installed and starts, otherwise transformers, and the log says which
engine was picked and why.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from omegaconf import DictConfig

from r1pipe.config.schema import BACKENDS  # generation.backend's choices
from r1pipe.generation.base import Engine, Sample, Sampling

log = logging.getLogger(__name__)


__all__ = [
    "BACKENDS",
    "Engine",
    "Sample",
    "Sampling",
    "TransformersEngine",
    "build_engine",
    "open_engine",
    "vllm_installed",
]


def __getattr__(name: str) -> object:
    """`TransformersEngine` on first use: it imports torch and transformers (seconds), which
    the orchestrator and config validation do not need."""
    if name == "TransformersEngine":
        from r1pipe.generation.transformers_engine import TransformersEngine

        return TransformersEngine
    raise AttributeError(name)


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def build_engine(path: str, model_cfg: DictConfig, gen: DictConfig) -> Engine:
    """The engine `gen.backend` asks for, loaded with the model at `path`."""
    from r1pipe.generation.transformers_engine import TransformersEngine

    if gen.backend == "transformers":
        return TransformersEngine.from_dir(path, model_cfg, gen.batch_size, gen.cpu_decode_threads)
    if gen.backend == "vllm":
        return _vllm(path, model_cfg, gen)
    if gen.backend != "auto":
        raise ValueError(f"generation.backend={gen.backend!r}; use one of {', '.join(BACKENDS)}")
    if not vllm_installed():
        log.info("generation.backend=auto: vLLM is not installed; using transformers generate")
        return TransformersEngine.from_dir(path, model_cfg, gen.batch_size, gen.cpu_decode_threads)
    try:
        return _vllm(path, model_cfg, gen)
    except Exception as e:  # any start-up failure (unsupported model, no memory): fall back, say why
        log.warning("generation.backend=auto: vLLM did not start (%s); using transformers generate", e)
        return TransformersEngine.from_dir(path, model_cfg, gen.batch_size, gen.cpu_decode_threads)


def _vllm(path: str, model_cfg: DictConfig, gen: DictConfig) -> Engine:
    from r1pipe.generation.vllm_engine import VLLMEngine

    engine = VLLMEngine(path, model_cfg, gen)
    log.info("generation engine: vLLM (%s)", path)
    return engine


@contextmanager
def open_engine(path: str, model_cfg: DictConfig, gen: DictConfig) -> Iterator[Engine]:
    """An engine that is closed (its memory released) when the block ends or raises."""
    engine = build_engine(path, model_cfg, gen)
    try:
        yield engine
    finally:
        engine.close()
