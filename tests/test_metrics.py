"""Tests of sims.engine.metrics: hand-computed known answers, invariances, batching, backends, validation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from sims.engine import backend as B
from sims.engine import metrics as M

S = np.array([[1.0, 2.0, 0.0],
              [3.0, 1.0, 1.0],
              [0.0, 0.5, 4.0],
              [2.0, 2.5, 2.4]])
Y = np.array([1, 2, 2, 0])
# hand-computed: predictions (1, 0, 2, 1); correct: rows 0 and 2
ACC = 0.5
MARGINS = [1.0, 2.0, 3.5, 0.1]  # top - runner-up
SIGNED = [1.0, -2.0, 3.5, -0.5]  # s_y - max_{c != y} s_c
CONF = [[0, 1, 0],  # true 0 -> predicted 1
        [0, 1, 0],  # true 1 -> predicted 1
        [1, 0, 1]]  # true 2 -> predicted 0 and 2


def test_known_answers(xp):
    s, y = B.asarray(S, xp), B.asarray(Y, xp)
    assert float(M.accuracy(s, y)) == ACC
    assert np.allclose(B.to_numpy(M.margins(s)), MARGINS)
    assert np.allclose(B.to_numpy(M.signed_margins(s, y)), SIGNED)
    pred = xp.argmax(s, axis=-1)
    assert np.array_equal(B.to_numpy(M.confusion_matrix(y, pred, 3)), CONF)
    assert float(M.accuracy(pred, y)) == ACC  # integer predictions accepted


def test_fisher_known_answers(xp):
    # class 0: {0, 1} mean 0.5 var 0.25; class 1: {2, 3} mean 2.5 var 0.25 -> J = 4 / 0.5 = 8
    v = B.asarray(np.array([0.0, 1.0, 2.0, 3.0]), xp)
    y = B.asarray(np.array([0, 0, 1, 1]), xp)
    assert math.isclose(float(M.fisher_separation(v, y)), 8.0)
    # balanced, d = 1: fisher_ratio = pi_a pi_b D^2 / (pi_a V_a + pi_b V_b) = 0.25 * 4 / 0.25 = 4 = J / 2
    H = xp.reshape(v, (4, 1))
    assert math.isclose(float(M.fisher_ratio(H, y, 2)), 4.0, rel_tol=1e-12)
    # unbalanced: class 0 {0}, class 1 {1, 2, 3}: means 0, 2; vars 0, 2/3 -> J = 4 / (2/3) = 6
    y2 = B.asarray(np.array([0, 1, 1, 1]), xp)
    assert math.isclose(float(M.fisher_separation(v, y2)), 6.0)
    # fisher_ratio: (1/4)(3/4) 4 / ((3/4)(2/3)) = 1.5
    assert math.isclose(float(M.fisher_ratio(H, y2, 2)), 1.5, rel_tol=1e-12)


def test_fisher_uses_population_variance():
    """ddof = 0 as documented; an ddof = 1 implementation would give 4 instead of 8 here."""
    v, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1])
    ddof1 = (0.5 - 2.5) ** 2 / (np.var([0, 1], ddof=1) + np.var([2, 3], ddof=1))
    assert ddof1 == 4.0 and float(M.fisher_separation(v, y)) != ddof1


def test_fisher_degenerate_cases_do_not_warn():
    # (RuntimeWarnings from sims.* are errors in this project's pytest config)
    assert np.isnan(M.fisher_separation(np.array([1.0, 2.0]), np.array([0, 0])))  # class 1 empty
    assert M.fisher_separation(np.array([1.0, 1.0, 2.0]), np.array([0, 0, 1])) == np.inf
    assert np.isnan(M.fisher_separation(np.array([1.0, 1.0]), np.array([0, 1])))  # 0 / 0
    assert float(M.fisher_separation(np.array([0.0, 1.0, 5.0]), np.array([0, 1, 2]))) == np.inf  # class 2 ignored


@settings(max_examples=40)
@given(
    v=arrays(np.float64, st.integers(4, 40), elements=st.floats(-100, 100)),
    data=st.data(),
)
def test_fisher_matches_formula_and_invariances(v, data):
    n = v.size
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:2] = [0, 1]
    a, b = v[y == 0], v[y == 1]
    den = a.var() + b.var()
    if den < 1e-6:
        return
    J = (a.mean() - b.mean()) ** 2 / den  # docs/DESIGN.md formula, population variances
    got = float(M.fisher_separation(v, y))
    assert math.isclose(got, J, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(float(M.fisher_separation(v, 1 - y)), got, rel_tol=1e-9, abs_tol=1e-12)  # symmetric
    assert math.isclose(float(M.fisher_separation(v, y, classes=(1, 0))), got, rel_tol=1e-9, abs_tol=1e-12)
    scale, shift = data.draw(st.floats(0.1, 10)), data.draw(st.floats(-10, 10))
    sign = data.draw(st.sampled_from([-1.0, 1.0]))
    assert math.isclose(float(M.fisher_separation(sign * scale * v + shift, y)), got, rel_tol=1e-6, abs_tol=1e-9)
    # d = 1, C = 2 relation of the multi-class criterion
    pa, pb = a.size / n, b.size / n
    expect = pa * pb * (a.mean() - b.mean()) ** 2 / (pa * a.var() + pb * b.var())
    assert math.isclose(float(M.fisher_ratio(v[:, None], y, 2)), expect, rel_tol=1e-6, abs_tol=1e-9)


@settings(max_examples=25)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 4), C=st.integers(2, 4))
def test_fisher_ratio_affine_invariant_and_batched(seed, d, C):
    g = np.random.default_rng(seed)
    n = 60
    y = np.arange(n) % C
    H = g.standard_normal((n, d)) + y[:, None] * g.standard_normal(d)
    J = float(M.fisher_ratio(H, y, C))
    A = g.standard_normal((d, d)) + 3 * np.eye(d)  # invertible (diagonally dominant enough)
    assert math.isclose(float(M.fisher_ratio(H @ A + g.standard_normal(d), y, C)), J, rel_tol=1e-6)
    # LDA identity: J = sum of the generalized eigenvalues of (S_B, S_W)
    mus = np.stack([H[y == c].mean(0) for c in range(C)])
    pis = np.bincount(y, minlength=C) / n
    mu = pis @ mus
    Sw = sum(pis[c] * np.cov(H[y == c].T, bias=True).reshape(d, d) for c in range(C))
    Sb = ((mus - mu) * pis[:, None]).T @ (mus - mu)
    assert math.isclose(J, float(np.trace(np.linalg.solve(Sw, Sb))), rel_tol=1e-8)
    Hs = np.stack([H, 2 * H, H[::-1]])  # batch of three problems sharing y
    Js = M.fisher_ratio(Hs, y, C)
    assert Js.shape == (3,) and np.allclose(Js[:2], J)
    assert math.isclose(Js[2], float(M.fisher_ratio(H[::-1], y, C)))


@settings(max_examples=40)
@given(
    scores=arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(2, 5)), elements=st.floats(-1e3, 1e3)),
    data=st.data(),
)
def test_margin_and_confusion_invariants(scores, data):
    n, C = scores.shape
    y = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=n, max_size=n)))
    pred = np.argmax(scores, axis=1)
    m, sm = M.margins(scores), M.signed_margins(scores, y)
    assert m.shape == (n,) and np.all(m >= 0)
    correct = pred == y
    assert np.all(sm[correct] >= 0) and np.all(sm[~correct] <= 0)
    assert np.allclose(sm[correct], m[correct])  # a correct sample's signed margin is the margin
    assert np.all(sm[sm > 0] == m[sm > 0])
    cm = M.confusion_matrix(y, pred, C)
    assert cm.dtype == np.int64 and cm.sum() == n
    assert np.array_equal(cm.sum(1), np.bincount(y, minlength=C))
    assert np.array_equal(cm.sum(0), np.bincount(pred, minlength=C))
    assert math.isclose(np.trace(cm) / n, float(M.accuracy(scores, y)))
    # shifting all scores of a sample by a constant changes nothing
    shift = data.draw(st.floats(-100, 100))
    assert np.allclose(M.margins(scores + shift), m, atol=1e-9)


def test_batched_leading_axes():
    g = np.random.default_rng(0)
    s = g.standard_normal((3, 2, 50, 4))  # (noise, seed, n, C)
    y = g.integers(0, 4, 50)  # broadcast labels
    acc = M.accuracy(s, y)
    assert acc.shape == (3, 2)
    cm = M.confusion_matrix(y, np.argmax(s, -1), 4)
    assert cm.shape == (3, 2, 4, 4)
    fs = M.fisher_separation(s[..., 0], y % 2)
    assert fs.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert acc[i, j] == M.accuracy(s[i, j], y)
            assert np.array_equal(cm[i, j], M.confusion_matrix(y, np.argmax(s[i, j], -1), 4))
            assert math.isclose(fs[i, j], float(M.fisher_separation(s[i, j, :, 0], y % 2)))
            assert np.array_equal(M.signed_margins(s, y)[i, j], M.signed_margins(s[i, j], y))


def test_float32_in_float32_out(xp):
    s = B.asarray(S, xp, dtype=xp.float32)
    y = B.asarray(Y, xp)
    assert M.margins(s).dtype == xp.float32
    assert M.signed_margins(s, y).dtype == xp.float32
    assert M.fisher_separation(s[:, 0], y % 2).dtype == xp.float32
    assert M.fisher_ratio(s, y, 3).dtype == xp.float32


def test_ties_go_to_lowest_class():
    s = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert float(M.accuracy(s, np.array([0, 0]))) == 1.0
    assert np.array_equal(M.margins(s), [0.0, 0.0])
    assert np.array_equal(M.signed_margins(s, np.array([1, 0])), [0.0, 0.0])


@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_reject_non_finite(bad):
    s = S.copy()
    s[1, 1] = bad
    for fn in (lambda: M.accuracy(s, Y), lambda: M.margins(s), lambda: M.signed_margins(s, Y)):
        with pytest.raises(ValueError, match=r"^scores contains NaN"):
            fn()
    with pytest.raises(ValueError, match=r"^v contains NaN"):
        M.fisher_separation(s[:, 1], Y % 2)
    with pytest.raises(ValueError, match=r"^H contains NaN"):
        M.fisher_ratio(s, Y, 3)


@given(bad=st.one_of(st.integers(-10, -1), st.integers(3, 10)))
def test_reject_labels_out_of_range(bad):
    y = Y.copy()
    y[0] = bad
    with pytest.raises(ValueError, match=rf"^y contains {bad}, must be in \[0, 2\]"):
        M.signed_margins(S, y)
    with pytest.raises(ValueError, match=rf"^y_true contains {bad}"):
        M.confusion_matrix(y, Y, 3)
    with pytest.raises(ValueError, match=rf"^y_pred contains {bad}"):
        M.confusion_matrix(Y, y, 3)
    with pytest.raises(ValueError, match=rf"^y contains {bad}"):
        M.fisher_ratio(S, y, 3)


def test_reject_shapes_dtypes_and_options():
    with pytest.raises(ValueError, match=r"^y.dtype"):
        M.accuracy(S, Y.astype(float))
    with pytest.raises(ValueError, match=r"must broadcast"):
        M.accuracy(S, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"must broadcast"):
        M.signed_margins(S, np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match=r"^scores.shape\[-1\] == 1, must be >= 2"):
        M.margins(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"^scores.ndim == 1"):
        M.margins(np.ones(3))
    with pytest.raises(ValueError, match=r"^classes == \(1, 1\)"):
        M.fisher_separation(S[:, 0], Y, classes=(1, 1))
    with pytest.raises(ValueError, match=r"^classes\[0\] == -1"):
        M.fisher_separation(S[:, 0], Y, classes=(-1, 1))
    with pytest.raises(ValueError, match=r"^n_classes == 1, must be in \[2, inf\)"):
        M.fisher_ratio(S, Y, 1)
    with pytest.raises(ValueError, match=r"^n_classes == 0"):
        M.confusion_matrix(Y, Y, 0)
    with pytest.raises(ValueError, match=r"must broadcast"):
        M.confusion_matrix(Y, Y[:3], 3)
    with pytest.raises(ValueError, match=r"^v.dtype"):
        M.fisher_separation(Y, Y % 2)
