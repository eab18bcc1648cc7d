"""Build the toy reward models (judges) shipped in r1pipe/assets/toy_judges.

    python scripts/build_toy_judges.py             # both judges (~75 s on one CPU core)
    python scripts/build_toy_judges.py helpful     # one

Stage 4 of the toy pipeline scores general prompts with these judges. Only the judge's own files
ship (config.json, model.safetensors, toy_judge.json): its tokenizer is the toy base's, which the
stage adds when it copies a judge. A judge is used only where
its recorded fingerprint (preference pairs, training settings, base model) is the current one
(r1pipe/toy/reward_models.py); otherwise the stage trains it itself. Rerun this after changing the
preference data (r1pipe/toy/preferences.py), the judges' training (reward_models.TRAINING) or the
toy base: tests/unit/test_toy_reward_models.py fails until the shipped judges are current again.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from r1pipe.toy.preferences import JUDGES
from r1pipe.toy.reward_models import main, ship

if __name__ == "__main__":
    judges = sys.argv[1:] or list(JUDGES)
    with tempfile.TemporaryDirectory() as tmp:
        main([tmp, *judges])  # the stage's own build (one thread, fixed seed)
        for judge in judges:
            ship(judge, Path(tmp) / judge)  # weights, config and record; the tokenizer is the base's
