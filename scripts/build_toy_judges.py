"""Build the toy reward models (judges) shipped in r1pipe/assets/toy_judges.

    python scripts/build_toy_judges.py             # both judges (~75 s on one CPU core)
    python scripts/build_toy_judges.py helpful     # one

Stage 4 of the toy pipeline scores general prompts with these judges. A judge is used only where
its recorded fingerprint (preference pairs, training settings, base model) is the current one
(r1pipe/toy/reward_models.py); otherwise the stage trains it itself. Rerun this after changing the
preference data (r1pipe/toy/preferences.py), the judges' training (reward_models.TRAINING) or the
toy base: tests/unit/test_toy_reward_models.py fails until the shipped judges are current again.
"""

from __future__ import annotations

import sys

from r1pipe.toy.preferences import JUDGES
from r1pipe.toy.reward_models import SHIPPED, main

if __name__ == "__main__":
    main([str(SHIPPED), *(sys.argv[1:] or JUDGES)])
