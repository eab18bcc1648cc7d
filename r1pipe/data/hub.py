"""Is a repo named by hub id usable from this machine? Asked before any work, so that a dataset,
benchmark or model that cannot be had stops the run at once, naming its config key, rather than
after stage 1 has trained for hours (the first evaluation used to be where a gated GPQA or the
LiveCodeBench loading script failed).

One metadata request per repo (huggingface_hub's `HfApi.dataset_info` / `model_info`, no
retries, a short timeout), none where the repo is already in the local cache or the hub is
switched off (HF_HUB_OFFLINE=1). `datasets.load_dataset_builder` would answer too, but it retries
an unreachable hub for ~23 s per repo and downloads the card.
"""

from __future__ import annotations

import os
from typing import Literal

RepoType = Literal["dataset", "model"]

# A file that every hub repo of the kind has, to find it in the local cache.
MARKER = {"dataset": "README.md", "model": "config.json"}
DATA_SUFFIXES = (".parquet", ".json", ".jsonl", ".csv", ".arrow", ".txt", ".tsv", ".zip", ".gz", ".zst")


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def in_local_cache(repo_id: str, repo_type: RepoType) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, MARKER[repo_type], repo_type=repo_type)
    return isinstance(found, str)


def hub_repo_problem(repo_id: str, repo_type: RepoType = "dataset", timeout_s: float = 10.0) -> str | None:
    """Why `repo_id` cannot be loaded from here, or None (cached, or reachable and loadable)."""
    if in_local_cache(repo_id, repo_type):
        return None
    if hub_offline():
        return f"{repo_type} {repo_id!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    api = HfApi()
    try:
        info = (api.dataset_info if repo_type == "dataset" else api.model_info)(repo_id, timeout=timeout_s)
    except GatedRepoError:
        return f"{repo_type} {repo_id!r} is gated: accept its terms on its hub page, then `hf auth login`"
    except RepositoryNotFoundError:
        return (
            f"no {repo_type} {repo_id!r} on the Hugging Face Hub (or it is private and you are not logged in)"
        )
    except Exception as error:  # noqa: BLE001 - no network, DNS, proxy, TLS: all mean "cannot reach"
        return (
            f"cannot reach the Hugging Face Hub for {repo_type} {repo_id!r} ({type(error).__name__}: {error})"
        )
    if getattr(info, "gated", False) and get_token() is None:
        return f"{repo_type} {repo_id!r} is gated and you are not logged in: accept its terms, then `hf auth login`"
    if repo_type == "dataset" and is_loading_script(repo_id, [s.rfilename for s in info.siblings or []]):
        return (
            f"dataset {repo_id!r} is a loading script, which `datasets` no longer runs "
            "(export it to .jsonl or use a parquet mirror)"
        )
    return None


def is_loading_script(repo_id: str, files: list[str]) -> bool:
    """A repo whose data comes from a Python script (`<name>.py`) rather than data files."""
    name = repo_id.rsplit("/", 1)[-1]
    has_script = f"{name}.py" in files
    has_data = any(f.endswith(DATA_SUFFIXES) for f in files if not f.startswith("."))
    return has_script and not has_data


def hub_fix(key: str, repo_id: str, repo_type: RepoType) -> str:
    download = f"hf download --repo-type {repo_type} {repo_id} --local-dir DIR"
    what = "a local file or a directory in the hub layout" if repo_type == "dataset" else "a local model dir"
    return f"set {key} to {what} (e.g. `{download}` on a machine with access, then {key}=DIR)"
