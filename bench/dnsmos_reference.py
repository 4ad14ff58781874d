"""Earmark's DNSMOS (core.jobs.analyzers.dnsmos) against the speechmos package's on the same 16 kHz signals.

speechmos is not one of Earmark's requirements (it needs librosa): install it apart to run this, e.g.
``python -m venv --system-site-packages /tmp/ref && /tmp/ref/bin/pip install speechmos==0.0.1.1 librosa requests``
and ``/tmp/ref/bin/python bench/dnsmos_reference.py``. The signals are tests/speechlike.py's synthetic speech.
One line per sound: its length, the windows Earmark scored, both sets of scores and the largest difference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.jobs.analyzers import dnsmos  # noqa: E402
from tests import speechlike  # noqa: E402

CASES = [(1, "clean", 5.0), (2, "white 6 dB", 8.0), (3, "pink 6 dB", 12.0), (6, "music 5 dB", 16.0),
         (4, "clean", 30.0), (5, "white 12 dB", 30.0)]


def main() -> None:
    try:
        from speechmos import dnsmos as reference
    except ImportError:
        sys.exit("speechmos is not installed here (it is not an Earmark requirement): see this file's docstring.")
    for seed, condition, seconds in CASES:
        samples = np.clip(speechlike.recording(seed, condition, seconds=seconds).samples, -1, 1)
        ours, theirs = dnsmos.scores(samples), reference.run(samples, dnsmos.RATE)
        assert ours is not None
        differences = [ours.sig - theirs["sig_mos"], ours.bak - theirs["bak_mos"], ours.ovrl - theirs["ovrl_mos"]]
        print(f"{condition:12s} {seconds:4.0f} s, {ours.windows:2d} windows: earmark SIG {ours.sig:.4f} BAK {ours.bak:.4f} "
              f"OVRL {ours.ovrl:.4f}; speechmos {theirs['sig_mos']:.4f} {theirs['bak_mos']:.4f} {theirs['ovrl_mos']:.4f}; "
              f"largest difference {max(map(abs, differences)):.4f}")


if __name__ == "__main__":
    main()
