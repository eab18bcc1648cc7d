#!/usr/bin/env bash
# The checks that need a GPU machine, in one command; on a CPU it runs what it can and says what
# it skipped. Prints one table of results and writes it, with the benchmark tables, to
# $OUT/gpu_check.md (or ./gpu_check_out/), to be copied into docs/BENCHMARKS.md with the machine.
#
#   bash scripts/gpu_check.sh                    # everything this machine can run
#   bash scripts/gpu_check.sh --wheels DIR       # first install the wheels in DIR (no network)
#   bash scripts/gpu_check.sh --quick            # smaller benchmarks
#
# Checks: (1) the toy pipeline with vLLM colocate in stages 2 and 4 and vLLM generation in
# stage 3; (2) stage 2 in vLLM server mode (2+ GPUs); (3) scripts/bench_generation.py,
# transformers vs vLLM; (4) scripts/bench_grpo.py, GRPO step time with transformers vs vLLM
# rollouts on a random-weight Qwen2.5-1.5B-shaped model (the toy model on CPU); (5) the toy
# pipeline with transformers rollouts (the GPU code path without vLLM); (6) scripts/bench_sampling.py,
# stage 3's sampling on 1 GPU vs all of them (2+ GPUs).
# A machine without trl/datasets/hydra (the lent GPU image) needs them carried as wheels:
#   pip download --no-deps -d wheels trl datasets hydra-core omegaconf antlr4-python3-runtime \
#       math-verify latex2sympy2_extended multiprocess dill xxhash pyarrow  (and what pip reports)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT_DIR=${OUT:-gpu_check_out}
mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/gpu_check.md"
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) "$PY" -m pip install -q --no-index --no-deps --target "$OUT_DIR/site" "$2"/*.whl \
                && export PYTHONPATH="$PWD/$OUT_DIR/site:${PYTHONPATH:-}"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export PYTHONPATH="$PWD:${PYTHONPATH:-}"

has() { "$PY" -c "import $1" >/dev/null 2>&1; }
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
VLLM=$(has vllm && echo yes || echo no)
DEPS=$(has trl && has datasets && has hydra && has math_verify && echo yes || echo no)
RESULTS=()
record() { RESULTS+=("| $1 | $2 | $3 |"); echo "== $1: $2 ($3)"; }

{
  echo "# gpu_check $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  "$PY" - <<'EOF'
import platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB")
for name in ("transformers", "accelerate", "peft", "trl", "datasets", "hydra", "vllm"):
    try:
        module = __import__(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as error:
        print(f"{name}: not importable ({type(error).__name__})")
EOF
} > "$REPORT" 2>&1
cat "$REPORT"

run_check() {  # name, log file, command...
  local name=$1 logfile=$2; shift 2
  if "$@" > "$OUT_DIR/$logfile" 2>&1; then record "$name" pass "log $logfile"
  else record "$name" FAIL "$(tail -n 3 "$OUT_DIR/$logfile" | tr '\n|' '  ' | cut -c1-200)"; fi
}

# toy_quick, with a cold start long enough for stage 3 to keep samples (8 steps teach no format);
# the format reward stands in for accuracy so that every stage has samples to act on
R1=("$PY" -m r1pipe.cli run experiment=toy_quick cold_start.max_steps=160 cold_start.save_steps=80
    reward.accuracy=r1_format eval.num_problems=8)
if [ "$DEPS" != yes ]; then
  record "r1pipe checks" SKIP "trl, datasets, hydra or math-verify missing: pass --wheels DIR"
else
  if [ "$VLLM" = yes ]; then
    run_check "toy pipeline, vLLM colocate (stages 2, 4) + vLLM stage 3" pipeline_vllm.log \
      "${R1[@]}" run_dir="$OUT_DIR/runs/vllm" reasoning_rl.generation=vllm_colocate \
      all_scenario_rl.generation=vllm_colocate generation.backend=vllm reasoning_rl.sync_probe_every=1
  else
    record "toy pipeline, vLLM colocate" SKIP "vLLM is not installed"
  fi
  if [ "$VLLM" = yes ] && [ "$GPUS" -ge 2 ]; then
    run_check "stage 2, vLLM server mode (NCCL sync)" server.log \
      "${R1[@]}" run_dir="$OUT_DIR/runs/server" "pipeline.stages=[cold_start,reasoning_rl]" \
      reasoning_rl.generation=vllm_server reasoning_rl.sync_probe_every=1
  else
    record "stage 2, vLLM server mode" SKIP "needs vLLM and 2 GPUs ($VLLM, $GPUS GPUs)"
  fi
  run_check "toy pipeline, transformers rollouts" pipeline_transformers.log \
    "${R1[@]}" run_dir="$OUT_DIR/runs/transformers"
  if [ "$GPUS" -ge 1 ]; then
    GRPO=(--model qwen2.5-1.5b-random --dtype bfloat16 --steps 6 --prompts 8 --group 8 --completion 256)
  else
    GRPO=(--model toy --steps 8 --prompts 8 --group 4 --completion 64)
  fi
  [ "$QUICK" = 1 ] && GRPO+=(--steps 4)
  run_check "GRPO step time, transformers vs vLLM rollouts" bench_grpo.log \
    "$PY" scripts/bench_grpo.py "${GRPO[@]}" --append "$REPORT"
fi
GEN=(--prompts 256 --n 4 --max-tokens 128)
[ "$GPUS" -ge 1 ] && GEN+=(--dtype bfloat16)
[ "$QUICK" = 1 ] && GEN=(--prompts 64 --n 4 --max-tokens 64)
if has omegaconf; then
  run_check "generation tokens/s, transformers vs vLLM" bench_generation.log \
    "$PY" scripts/bench_generation.py "${GEN[@]}"
  { echo; echo '```'; tail -n 8 "$OUT_DIR/bench_generation.log"; echo '```'; } >> "$REPORT"
else
  record "generation benchmark" SKIP "omegaconf missing: pass --wheels DIR"
fi
# stage 3's sampling on 1 GPU vs all of them (data-parallel: one engine and its own shards per GPU),
# from the transformers pipeline's stage-2 model above (the format reward stands in for accuracy)
STAGE2="$OUT_DIR/runs/transformers/02_reasoning_rl/model"
if [ "$DEPS" = yes ] && [ "$GPUS" -ge 2 ] && [ -f "$STAGE2/config.json" ]; then
  SAMPLING_BACKEND=transformers; [ "$VLLM" = yes ] && SAMPLING_BACKEND=vllm
  run_check "stage-3 sampling, 1 vs $GPUS GPUs" bench_sampling.log \
    "$PY" scripts/bench_sampling.py --model "$STAGE2" --processes "$GPUS" --backend "$SAMPLING_BACKEND" \
    --threads 0 --prompts 512 --shard-size 32 reward.accuracy=r1_format
  { echo; echo '```'; tail -n 6 "$OUT_DIR/bench_sampling.log"; echo '```'; } >> "$REPORT"
else
  record "stage-3 sampling, 1 vs all GPUs" SKIP "needs 2+ GPUs and the transformers pipeline's stage-2 model ($GPUS GPUs)"
fi

{
  echo
  echo "| check | result | detail |"
  echo "|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
} | tee -a "$REPORT"
echo "report: $REPORT"
