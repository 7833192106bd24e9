#!/usr/bin/env bash
# One-shot setup on a fresh machine: a virtual environment in .venv with everything the main job
# and the tests need. Safe to rerun (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
"$VPY" -m pip install --quiet --upgrade pip
# The CPU build of torch must come first: with no torch installed, a looser requirement pulls
# a multi-GB CUDA build. If the pinned build cannot be had, everything but the torch bridge installs
# and the real-data tests skip with a reason.
if "$VPY" -m pip install --quiet "torch==2.13.0"; then
    EXTRAS="dev,realdata,dist"
else
    echo "bootstrap: torch==2.13.0 not installable here; realdata/ will be unavailable" >&2
    EXTRAS="dev,dist"
fi
"$VPY" -m pip install --quiet -e ".[${EXTRAS}]"
echo "bootstrap: ready ($("$VPY" --version), extras: ${EXTRAS})" >&2
