"""Shared fixtures: hypothesis profiles, a global seed, and the array backends to test on.

Hypothesis is deterministic by default (``derandomize=True``); set ``HYPOTHESIS_PROFILE=deep`` for a
longer, randomized run.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    print_blob=True,
)
settings.register_profile(
    "deep",
    derandomize=False,
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _cupy_usable() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array_api_strict", id="array_api_strict"),
    pytest.param(
        "cupy",
        id="cupy",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not _cupy_usable(), reason="CuPy with a CUDA GPU not available"),
        ],
    ),
]


@pytest.fixture(params=BACKEND_PARAMS)
def xp(request):
    """Array-API namespace: numpy (via array_api_compat), array_api_strict, cupy when present."""
    from sims.engine.backend import resolve_backend

    return resolve_backend(request.param)


@pytest.fixture
def global_seed() -> int:
    """One seed for tests that need randomness; override with $SIMS_TEST_SEED."""
    return int(os.environ.get("SIMS_TEST_SEED", "20250424"))


@pytest.fixture
def host_rng(global_seed) -> np.random.Generator:
    return np.random.default_rng(global_seed)
