"""Tests of the shared validation helpers and the backend / random-stream helpers."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from sims.engine import backend as B
from sims.engine.validation import (
    Interval, UNIT_OPEN_RIGHT, check_array, check_number, check_option, check_values,
)


def test_interval_str_and_contains():
    assert str(UNIT_OPEN_RIGHT) == "[0, 1)"
    assert str(Interval(None, 3, "(]")) == "(-inf, 3]"
    assert UNIT_OPEN_RIGHT.contains(0.0) and not UNIT_OPEN_RIGHT.contains(1.0)
    assert not UNIT_OPEN_RIGHT.contains(float("nan"))


@pytest.mark.parametrize("bad", [1.0, -0.1, float("nan"), float("inf"), "a", None, True])
def test_check_number_rejects_and_names(bad):
    with pytest.raises(ValueError, match=r"^sparsity "):
        check_number("sparsity", bad, UNIT_OPEN_RIGHT)


def test_check_number_message_form():
    with pytest.raises(ValueError, match=r"sparsity == 1.5, must be in \[0, 1\)"):
        check_number("sparsity", 1.5, UNIT_OPEN_RIGHT)
    with pytest.raises(ValueError, match="must be an integer"):
        check_number("n", 2.5, integer=True)
    assert check_number("n", np.int64(3), integer=True) == 3


def test_check_values_and_option_and_array():
    arr = check_values("eta", [0.0, 0.25], Interval(0, 0.5))
    assert arr.dtype == np.float64
    with pytest.raises(ValueError, match=r"eta contains 0.75, must be in \[0, 0.5\]"):
        check_values("eta", [0.1, 0.75], Interval(0, 0.5))
    with pytest.raises(ValueError, match=r"code == 'x', must be one of 'mono', 'poly'"):
        check_option("code", "x", ("mono", "poly"))
    with pytest.raises(ValueError, match=r"X.shape == \(2, 3\), must be \(any, 4\)"):
        check_array("X", np.zeros((2, 3)), shape=(None, 4))
    with pytest.raises(ValueError, match="X contains NaN"):
        check_array("X", np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"X.ndim == 1, must be 2"):
        check_array("X", np.zeros(3), ndim=2)


def test_resolve_backend_errors():
    with pytest.raises(ValueError, match="backend == 'torch', must be one of"):
        B.resolve_backend("torch")
    with pytest.raises(ValueError, match="dtype == 'float16', must be one of"):
        B.resolve_dtype(B.resolve_backend("numpy"), "float16")


def test_roundtrip_to_device(xp):
    host = np.arange(12, dtype=np.float64).reshape(3, 4)
    dev = B.asarray(host, xp, dtype=B.resolve_dtype(xp, "float32"))
    back = B.to_numpy(dev)
    assert back.dtype == np.float32 and np.array_equal(back, host.astype(np.float32))
    assert B.backend_name(B.get_namespace(dev)) in B.BACKENDS


def _normal_rows(g, k):
    return g.standard_normal((k, 3))


@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 3000), min_size=0, max_size=5),
    block=st.sampled_from([13, 100, 4096]),
)
def test_draw_rows_invariant_to_chunking(seed, cuts, block):
    stop = 3000
    whole = B.draw_rows(seed, 0, stop, _normal_rows, block=block)
    edges = sorted({0, stop, *cuts})
    pieces = [B.draw_rows(seed, a, b, _normal_rows, block=block) for a, b in zip(edges[:-1], edges[1:])]
    assert np.array_equal(np.concatenate(pieces), whole)


def test_seed_sequence_composes_and_differs():
    a = B.rng(5, "train", 3).standard_normal(4)
    b = B.rng(B.seed_sequence(5, "train"), 3).standard_normal(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, B.rng(6, "train", 3).standard_normal(4))
    assert B.stable_key("train") == B.stable_key("train")  # not salted per process


def test_check_number_huge_ints_give_value_error():
    with pytest.raises(ValueError, match=r"n == 100000000000000000000, must be in \[1, 10\]"):
        check_number("n", 10**20, Interval(1, 10), integer=True)
    assert check_number("n", 10**20, Interval(1, None), integer=True) == 10**20
    with pytest.raises(ValueError, match=r"x == inf, must be in \[0, 1\]"):
        check_number("x", float("inf"), Interval(0, 1))
