"""The toy reward models: two small judges trained on the toy preference pairs, so stage 4 runs
with no download.

    reward.models.helpful.model_dir: toy:helpful     # helpfulness, reads the summary
    reward.models.harmless.model_dir: toy:harmless   # harmlessness, reads the whole response

A `toy:<judge>` model dir is set up by the stage in `<stage_dir>/reward_models/<judge>/` the first
time and reused after, so a resumed stage scores with the same judge; a directory whose recorded
fingerprint (preference data, training settings, base model) differs is replaced. It comes, in
this order, from the machine's cache (`judge_cache`: $R1PIPE_CACHE, else $XDG_CACHE_HOME/r1pipe or
~/.cache/r1pipe; `R1PIPE_CACHE=off` for none), from the judges shipped in r1pipe/assets/toy_judges
(`SHIPPED`, built by `python scripts/build_toy_judges.py`), each only under the current fingerprint,
or else it is trained (~75 s of a toy stage 4 on 2 cores) and cached. Each judge is the
toy base's first two layers with a one-output score head (a `Qwen2ForSequenceClassification`,
`num_labels=1`), trained on one CPU core in float32 (TRL's default bf16 is emulated on a CPU
without bf16 units, ~15x slower): helpful 3,000 pairs x 6 epochs (~65 s), harmless 960 x 3 (~10 s).

Training is TRL's RewardTrainer (Bradley-Terry loss, the trainer a user would train a real judge
with). Considered: a plain PyTorch loop (as tests/unit/test_reward_model.py has), shorter but a
second training path to keep right; and shipping trained judges in r1pipe/assets like the toy
base: kept as well (a fresh machine's first run saves the ~75 s build), but never trusted
blindly: a shipped judge is used only under the current fingerprint, and
tests/unit/test_toy_reward_models.py fails when the preference data or the training settings change
without `scripts/build_toy_judges.py` being rerun. The build runs in a child process (`python -m r1pipe.toy.reward_models`): the
trainer sets up accelerate's process-wide state, and under `accelerate launch` would join the
stage's process group, both of which must stay the GRPO trainer's.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from r1pipe.models.loading import model_fingerprint, toy_base_dir
from r1pipe.rewards.reward_model import encode_inputs, format_input
from r1pipe.run.fingerprint import settings_key, still_valid
from r1pipe.run.rundir import atomic_publish_dir, atomic_write_json
from r1pipe.toy.preferences import JUDGES, PAIRS, Judge

log = logging.getLogger(__name__)

TOY_PREFIX = "toy:"
META = "toy_judge.json"
# Judges built by scripts/build_toy_judges.py and shipped with the package: only what is the judge's
# own (its weights, config and record); the tokenizer is the toy base's, added where one is copied.
SHIPPED = Path(__file__).resolve().parent.parent / "assets" / "toy_judges"
SHIPPED_FILES = ("config.json", "model.safetensors", META)
# The variables that would make a child process join the stage's distributed group.
_DISTRIBUTED_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class JudgeTraining:
    """How a toy judge is trained; part of its fingerprint."""

    layers: int = 2  # the toy base's first layers: as accurate as all 4 here, twice as fast
    pairs: int = 960  # training pairs
    heldout_pairs: int = 160  # pairs of another seed, to report the judge's accuracy
    epochs: int = 3  # passes over the training pairs (90 steps)
    batch_size: int = 32  # pairs per step
    learning_rate: float = 1.5e-3  # AdamW, linear decay
    center_rewards: float = 0.01  # pulls scores towards 0 (TRL's center_rewards_coefficient)
    seed: int = 0  # data and initialisation
    max_length: int = 256  # tokens per input (toy inputs are < 100)
    bf16: bool = False  # TRL's RewardConfig defaults to bf16; on a CPU without bf16 units that is
    # emulated, ~15x slower per matmul (148 s for the two judges instead of 25 s). A field, so
    # that judges cached from a bf16 build have another fingerprint and are rebuilt.


# Each judge's training. Helpfulness is the hard one: the policy samples 8 answers and GRPO moves
# towards the best-scored, so the judge must rank a request's good answers above every answer the
# policy writes, not only win most pairs. Measured on every general request against all the wrong
# answers (scripts/toy_judge_check.py): 960 pairs x 3 epochs wins 0.67-0.93 of the pairs and puts a
# wrong answer on top for most greetings, colours and thanks ("three" above "Blue."); 3,000 x 6,
# with the wrong answers stage 4's policy found (preferences.py), wins 0.99-1.00 and puts a good
# one on top for all greetings and half to three quarters of the colour, sky and thanks requests
# (~65 s; docs/RESULTS.md). Number words stay near chance whatever the setting (2 or 4 layers):
# the judge does not learn which word a digit is. The harmlessness judge's task (rude words
# anywhere) is learnt from 960 pairs.
TRAINING: dict[Judge, JudgeTraining] = {
    "helpful": JudgeTraining(pairs=3000, epochs=6),
    "harmless": JudgeTraining(),
}


def toy_judge(model_dir: str) -> Judge | None:
    """The judge a `toy:<judge>` model dir names; None for any other model dir."""
    if not str(model_dir).startswith(TOY_PREFIX):
        return None
    judge = str(model_dir)[len(TOY_PREFIX) :]
    if judge not in JUDGES:
        raise ValueError(
            f"unknown toy reward model {model_dir!r}; use one of: {', '.join(TOY_PREFIX + j for j in JUDGES)}"
        )
    return judge  # type: ignore[return-value]


def judge_settings(judge: Judge, training: JudgeTraining | None = None) -> dict:
    """What decides the judge: its preference pairs, the training settings, the base model."""
    training = training or TRAINING[judge]
    return {
        "judge": judge,
        "pairs": PAIRS[judge](training.pairs, seed=training.seed),
        "training": asdict(training),
        "base": model_fingerprint("toy"),
    }


def judge_fingerprint(judge: Judge, training: JudgeTraining | None = None) -> str:
    return settings_key(judge_settings(judge, training))


def is_current(judge_dir: Path, judge: Judge) -> bool:
    meta = judge_dir / META
    if not meta.is_file():
        return False
    try:
        return still_valid(
            json.loads(meta.read_text(encoding="utf-8")).get("fingerprint"), judge_settings(judge)
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One builder at a time (several processes of one stage share the directory)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def judge_cache() -> Path | None:
    """Where built judges are kept for later runs on this machine, or None (R1PIPE_CACHE=off)."""
    configured = os.environ.get("R1PIPE_CACHE", "")
    if configured.lower() in ("off", "0", "false", "none"):
        return None
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "r1pipe"
    return base.expanduser() / "toy_judges"


def from_cache(judges: list[Judge], root: Path) -> list[Judge]:
    """Copy each judge the machine's cache, else the package, holds under its current fingerprint
    into root; the rest."""
    cache, missing = judge_cache(), []
    for judge in judges:
        sources = ([cache / judge_fingerprint(judge)] if cache else []) + [SHIPPED / judge]
        found = next((source for source in sources if is_current(source, judge)), None)
        if found is None:
            missing.append(judge)
            continue
        tmp = root / f"{judge}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(found, tmp)
        if found.parent == SHIPPED:
            save_base_tokenizer(tmp)
        atomic_publish_dir(tmp, root / judge)
        log.info("toy reward model %s: copied from %s (same fingerprint)", judge, found)
    return missing


def save_base_tokenizer(judge_dir: Path):
    """The toy base's tokenizer (a judge reads text as the base does), saved into judge_dir as a
    built judge has it; returned for the trainer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(toy_base_dir())
    tokenizer.padding_side = "right"
    tokenizer.save_pretrained(str(judge_dir))
    return tokenizer


def ship(judge: Judge, built: Path) -> None:
    """Publish a built judge into the package (scripts/build_toy_judges.py): `SHIPPED_FILES` only."""
    tmp = SHIPPED / f"{judge}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in SHIPPED_FILES:
        shutil.copy2(built / name, tmp / name)
    atomic_publish_dir(tmp, SHIPPED / judge)


def to_cache(judges: list[Judge], root: Path) -> None:
    """Keep freshly built judges for later runs; a cache that cannot be written only costs time."""
    cache = judge_cache()
    if cache is None:
        return
    for judge in judges:
        target = cache / judge_fingerprint(judge)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            with _locked(cache):
                if not is_current(target, judge):
                    tmp = cache / f"{target.name}.tmp{os.getpid()}"
                    shutil.copytree(root / judge, tmp)
                    atomic_publish_dir(tmp, target)
        except OSError as e:
            log.warning("toy reward model %s not cached in %s: %s", judge, cache, e)


def build_toy_judges(judges: list[Judge], root: Path) -> dict[Judge, Path]:
    """`root/<judge>` for each judge: kept where current, else copied from the machine's cache or
    the package (`from_cache`), else built (in a child process) and cached."""
    with _locked(root):
        stale = [j for j in dict.fromkeys(judges) if not is_current(root / j, j)]
        stale = from_cache(stale, root) if stale else stale
        if stale:
            # Two runs started together on one machine (two test workers, two users' runs) would
            # both miss the cache and both train: the second to take the machine's build lock
            # finds the first one's judges cached and copies them.
            with _machine_build_lock():
                stale = from_cache(stale, root)
                if stale:
                    _build(stale, root)
                    to_cache(stale, root)
        for judge in judges:
            meta = json.loads((root / judge / META).read_text(encoding="utf-8"))
            log.info(
                "toy reward model %s: held-out preference accuracy %.3f (%s)",
                judge,
                meta["heldout_accuracy"],
                root / judge,
            )
    return {judge: root / judge for judge in judges}


@contextmanager
def _machine_build_lock() -> Iterator[None]:
    """One judge build at a time on the machine (through the cache's lock), or no lock where
    there is no cache or it cannot be written."""
    cache = judge_cache()
    try:
        if cache is not None:
            (cache / "build").mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = None
    with _locked(cache / "build") if cache is not None else nullcontext():
        yield


def _build(judges: list[Judge], root: Path) -> None:
    """Train the judges into root, in a child process outside the stage's process group."""
    log.info("building toy reward model(s) %s in %s", ", ".join(judges), root)
    env = {
        k: v for k, v in os.environ.items() if k not in _DISTRIBUTED_ENV and not k.startswith("ACCELERATE_")
    }
    cmd = [sys.executable, "-m", "r1pipe.toy.reward_models", str(root), *judges]
    with (root / "build.log").open("w") as out:
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = (root / "build.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"building toy reward models failed ({done.returncode}); {root / 'build.log'}:\n{tail}"
        )


def resolve_toy_reward_models(reward_cfg: DictConfig, root: Path, used: Iterable[str]) -> DictConfig:
    """A copy of the reward config whose `toy:<judge>` model dirs, among the reward models named in
    `used`, point at judges built under root."""
    resolved = OmegaConf.create(OmegaConf.to_container(reward_cfg, resolve=True))
    assert isinstance(resolved, DictConfig)
    wanted = {
        name: toy_judge(resolved.models[name].model_dir)
        for name in used
        if name in resolved.models and not resolved.models[name].get("url")  # served: built there
    }
    built = build_toy_judges([j for j in wanted.values() if j], root) if any(wanted.values()) else {}
    for name, judge in wanted.items():
        if judge:
            resolved.models[name].model_dir = str(built[judge])
    return resolved


# --- training (in the child process) --------------------------------------------------------------


def encode_pairs(tokenizer, pairs: list[dict], max_length: int):
    """Pre-tokenized {chosen_ids, rejected_ids}, formatted exactly as RewardModelScorer formats its
    inputs (chat template, prompt then response), so the judge trains on what it will score."""
    from datasets import Dataset

    def ids(side: str) -> list[list[int]]:
        return encode_inputs(
            tokenizer, [format_input(tokenizer, p["prompt"], p[side]) for p in pairs], max_length
        )

    return Dataset.from_dict({"chosen_ids": ids("chosen"), "rejected_ids": ids("rejected")})


def preference_accuracy(model, tokenizer, pairs: list[dict], max_length: int) -> float:
    """Share of pairs the judge ranks the right way round."""
    import torch

    encoded = encode_pairs(tokenizer, pairs, max_length)
    batch = tokenizer.pad(
        {"input_ids": list(encoded["chosen_ids"]) + list(encoded["rejected_ids"])}, return_tensors="pt"
    )
    model.eval()
    with torch.no_grad():
        chosen, rejected = model(**batch.to(model.device)).logits[:, 0].view(2, -1)  # (2, pairs)
    return (chosen > rejected).float().mean().item()


def judge_trainer_args(training: JudgeTraining, output_dir: Path):
    """TRL's RewardConfig for a judge: on the CPU, in float32, nothing saved or logged by the trainer."""
    from trl import RewardConfig

    return RewardConfig(
        output_dir=str(output_dir),
        num_train_epochs=training.epochs,
        per_device_train_batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        center_rewards_coefficient=training.center_rewards,
        max_length=training.max_length,
        seed=training.seed,
        use_cpu=True,  # tiny: the same judge on every machine, and no GPU memory taken from the stage
        bf16=training.bf16,
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )


def train_judge(judge: Judge, out: Path, training: JudgeTraining | None = None) -> dict:
    """Train one judge from the toy base and publish it to `out` (model, tokenizer, META) atomically."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed
    from trl import RewardTrainer

    training = training or TRAINING[judge]
    started = time.time()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = save_base_tokenizer(tmp)
    config = AutoConfig.from_pretrained(toy_base_dir(), num_labels=1)
    config.num_hidden_layers, config.layer_types = training.layers, config.layer_types[: training.layers]
    set_seed(training.seed)  # the score head is initialised at loading
    model = AutoModelForSequenceClassification.from_pretrained(toy_base_dir(), config=config)
    model.config.pad_token_id = tokenizer.pad_token_id  # the score is read at the last non-pad token
    args = judge_trainer_args(training, tmp / "trainer")
    train = encode_pairs(tokenizer, PAIRS[judge](training.pairs, seed=training.seed), training.max_length)
    trainer = RewardTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    output = trainer.train()
    heldout = PAIRS[judge](training.heldout_pairs, seed=training.seed + 1)
    meta = {
        "judge": judge,
        "fingerprint": judge_fingerprint(judge, training),
        "training": asdict(training),
        "train_loss": round(output.training_loss, 4),
        "heldout_accuracy": round(preference_accuracy(model, tokenizer, heldout, training.max_length), 4),
        "seconds": round(time.time() - started, 1),
    }
    shutil.rmtree(tmp / "trainer", ignore_errors=True)
    model.save_pretrained(str(tmp))  # trained in place (one CPU process: no wrapping)
    atomic_write_json(tmp / META, meta)
    atomic_publish_dir(tmp, out)
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the toy reward models (judges) stage 4 uses.")
    parser.add_argument("root", type=Path, help="directory to build <root>/<judge>/ in")
    parser.add_argument("judges", nargs="+", choices=JUDGES, help="which judges to build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import torch

    # One thread: a model this small trains several times faster so, and many times on a busy machine.
    torch.set_num_threads(1)
    for judge in args.judges:
        meta = train_judge(judge, args.root / judge)
        log.info("toy reward model %s: %s", judge, json.dumps(meta))


if __name__ == "__main__":
    main()
