"""theory.margins: every bound holds on every sample it covers (hypothesis over n, m, S, lam, codes), a
deliberately wrong bound is caught, identities vs Monte Carlo with tolerances from standard errors, the
cache is fresh, the claims are registered and pass."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import margins as T
from theory import margins_claims as TC

CODES = ("mono", "random", "antipodal", "frame")


# ------------------------------------------------------------------------------------------ helpers
def make_W(code: str, n: int, m: int, n_rep: int, rng: np.random.Generator) -> np.ndarray:
    """(m, n) with the first n_rep columns from the family (independent of sims.margin_sweep)."""
    W = np.zeros((m, n))
    if code == "mono":
        W[:, :m] = np.eye(m)
    elif code == "random":
        R = rng.standard_normal((m, n_rep))
        W[:, :n_rep] = R / np.linalg.norm(R, axis=0)
    elif code == "antipodal":
        pairs = n_rep - m
        for k in range(pairs):
            W[k, 2 * k], W[k, 2 * k + 1] = 1.0, -1.0
        for j, axis in zip(range(2 * pairs, n_rep), range(pairs, m)):
            W[axis, j] = 1.0
    else:
        from sims.engine.codes import make_code

        W[:, :n_rep] = np.asarray(make_code("frame", n_rep, m, int(rng.integers(1 << 30)), n_iter=30))
    return W


def sample(n: int, S: float, N: int, rng: np.random.Generator, amplitude=(0.0, 1.0)):
    return TC._sample(n, S, N, rng, amplitude)


@st.composite
def problems(draw):
    """(code, n, m, n_rep, S, amplitude, seed) with 2 <= m <= n_rep <= n."""
    code = draw(st.sampled_from(CODES))
    m = draw(st.integers(2, 10))
    if code == "mono":
        n_rep = m
    elif code == "antipodal":
        n_rep = draw(st.integers(m, 2 * m))
    else:
        n_rep = draw(st.integers(m, 4 * m))
    n = draw(st.integers(n_rep, n_rep + 12))
    S = draw(st.floats(0.0, 0.99))
    a = draw(st.sampled_from([0.0, 0.0, 0.2, 1.0]))
    b = a + draw(st.floats(0.1, 3.0))
    return code, n, m, n_rep, S, (a, b), draw(st.integers(0, 2**31))


def violations(x, y, W, n_rep, bound_fn, amplitude) -> tuple[int, int, int]:
    """(# covered samples violating margin >= bound, # violating bound >= worst case (M4), # covered)."""
    G = W.T @ W
    mu = T.coherence(W, n_rep)
    marg, cov = T.matched_filter_margins(x, y, G, n_rep)
    b = bound_fn(x, y, mu, n_rep)
    s = T.sample_structure(x, y, n_rep)
    bw = np.full(len(y), np.nan)
    if cov.any():
        bw[cov] = T.margin_bound_worst(mu, np.maximum(s["k"][cov], 1), np.clip(s["gap"][cov], 0, amplitude[1]), amplitude)
    tol = 1e-9 * (1 + np.abs(marg))
    v1 = int(np.sum(cov & (marg < b - tol)))
    v2 = int(np.sum(cov & (b < bw - tol)))
    return v1, v2, int(cov.sum())


# ------------------------------------------------------------------------------------------ (M3), (M4)
@given(problems())
def test_margin_bounds_hold_on_every_covered_sample(p):
    code, n, m, n_rep, S, amp, seed = p
    rng = np.random.default_rng(seed)
    W = make_W(code, n, m, n_rep, rng)
    x, y = sample(n, S, 300, rng, amp)
    v1, v2, cov = violations(x, y, W, n_rep, T.margin_bound_sample, amp)
    assert (v1, v2) == (0, 0), f"{v1} + {v2} violations on {cov} covered samples"


def _wrong_bound(x, y, mu, n_rep):
    """Pretends the coherence is half what it is: tighter than (M3), and false."""
    return T.margin_bound_sample(x, y, mu / 2, n_rep)


def test_a_tighter_false_bound_is_caught():
    rng = np.random.default_rng(7)
    W = make_W("random", 40, 10, 40, rng)
    x, y = sample(40, 0.9, 2000, rng)
    v1, _, cov = violations(x, y, W, 40, _wrong_bound, (0.0, 1.0))
    assert cov > 500 and v1 > 0
    # and the claim's own check reports it
    res = TC.check_margin(np.random.default_rng(1), bound=_wrong_bound)
    assert not res.passed and res.numbers["violations"] > 0


def test_margin_bound_known_answers():
    # mono (mu = 0): the bound is the margin itself, x_y - x_hi
    x = np.array([[0.9, 0.5, 0.0, 0.2], [0.1, 0.0, 0.0, 0.7]])
    y = np.array([0, 3])
    G = np.eye(4)
    marg, cov = T.matched_filter_margins(x, y, G, 4)
    assert np.allclose(marg, [0.4, 0.6]) and cov.all()
    assert np.allclose(T.margin_bound_sample(x, y, 0.0, 4), marg)
    # (M4): k = 1 gives (1 - mu) gap; mu = 0 gives the gap; continuity at mu = 1/3
    assert T.margin_bound_worst(0.3, 1, 0.6) == pytest.approx(0.7 * 0.6)
    assert T.margin_bound_worst(0.0, 5, 0.25) == pytest.approx(0.25)
    lo = T.margin_bound_worst(1 / 3 - 1e-12, 4, 0.2, (0.1, 1.0))
    hi = T.margin_bound_worst(1 / 3, 4, 0.2, (0.1, 1.0))
    assert lo == pytest.approx(hi, abs=1e-9)
    # a dropped true class or an all-zero row is not covered
    m2, c2 = T.matched_filter_margins(np.array([[0.0, 0.0, 0.9], [0.0, 0.0, 0.0]]), np.array([2, 0]), np.eye(3), 2)
    assert not c2.any() and np.isnan(m2).all()


@given(st.integers(2, 12), st.integers(1, 12), st.integers(0, 2**31))
def test_welch_bound_holds(n, m, seed):
    rng = np.random.default_rng(seed)
    W = make_W("random", n, m, n, rng) if n >= 2 else None
    assert T.coherence(W) >= float(T.welch_bound(n, m)) - 1e-12
    assert float(T.welch_bound(n, m)) == (0.0 if n <= m else pytest.approx(math.sqrt((n - m) / (m * (n - 1)))))


# ------------------------------------------------------------------------------------------ (M5)
def test_readout_noise_variance_known_answers():
    lam = 0.7
    mono = make_W("mono", 10, 4, 4, None)
    anti = make_W("antipodal", 10, 4, 8, None)
    assert np.allclose(T.readout_noise_variance(mono, lam)[:4], lam**2)
    assert np.allclose(T.readout_noise_variance(mono, lam)[4:], 0.0)  # dropped features
    assert np.allclose(T.readout_noise_variance(anti, lam)[:8], 2 * lam**2)
    assert np.allclose(T.readout_noise_variance(anti, lam, space="h")[:8], lam**2)
    V = T.pair_noise_variance(anti, lam)
    assert V[0, 1] == pytest.approx(8 * lam**2)  # an antipodal pair: 8 lam^2 (and a signal gap of 2(x_0 - x_1))
    assert V[0, 2] == pytest.approx(4 * lam**2)
    # frame bound: mean_j ||W^T w_j||^2 >= r / m for any unit columns
    rng = np.random.default_rng(3)
    for r in (5, 12, 30):
        W = make_W("random", r, 5, r, rng)
        assert T.readout_noise_variance(W, 1.0).mean() >= r / 5 - 1e-12


@settings(max_examples=15)
@given(st.sampled_from(("mono", "random", "antipodal")), st.integers(2, 8), st.floats(0.05, 2.0), st.integers(0, 2**31))
def test_readout_noise_variance_vs_simulation(code, m, lam, seed):
    rng = np.random.default_rng(seed)
    n_rep = {"mono": m, "random": 3 * m, "antipodal": 2 * m}[code]
    n = n_rep + 3
    W = make_W(code, n, m, n_rep, rng)
    N = 20000
    noise = (lam * rng.standard_normal((N, n))) @ (W.T @ W)
    emp = noise[:, :n_rep].var(axis=0, ddof=1)
    th = T.readout_noise_variance(W, lam)[:n_rep]
    se = th * math.sqrt(2.0 / (N - 1))  # SE of a Gaussian sample variance
    assert np.all(np.abs(emp - th) <= 5 * se)


# ------------------------------------------------------------------------------------------ (M6)
@settings(max_examples=12)
@given(st.sampled_from(("random", "antipodal", "frame")), st.integers(3, 8), st.floats(0.5, 0.97),
       st.floats(0.02, 0.6), st.integers(0, 2**31))
def test_error_bounds_hold_per_sample(code, m, S, lam, seed):
    rng = np.random.default_rng(seed)
    n_rep = 2 * m
    n = n_rep + 2
    W = make_W(code, n, m, n_rep, rng)
    G = W.T @ W
    x, y = sample(n, S, 400, rng)
    cov = (y < n_rep) & (x[np.arange(len(y)), y] > 0)
    x, y = x[cov][:12], y[cov][:12]
    if len(y) == 0:
        return
    lo, up = T.error_bounds(x, y, W, n_rep, lam)
    D = 3000
    for i in range(len(y)):
        s = ((x[i] + lam * rng.standard_normal((D, n))) @ G)[:, :n_rep]
        p = float(np.mean(s.argmax(axis=1) != y[i]))
        se = math.sqrt(max(p * (1 - p), 1.0 / D) / D)
        assert lo[0, i] - 5 * se <= p <= up[0, i] + 5 * se


def test_a_halved_union_bound_is_caught():
    rng = np.random.default_rng(11)
    W = make_W("random", 24, 8, 24, rng)
    G = W.T @ W
    x, y = sample(24, 0.9, 300, rng)
    cov = (x[np.arange(len(y)), y] > 0)
    x, y = x[cov][:30], y[cov][:30]
    _, up = T.error_bounds(x, y, W, 24, 0.2)
    D, worst = 4000, 0.0
    for i in range(len(y)):
        p = float(np.mean(((x[i] + 0.2 * rng.standard_normal((D, 24))) @ G).argmax(axis=1) != y[i]))
        se = math.sqrt(max(p * (1 - p), 1.0 / D) / D)
        worst = max(worst, (p - up[0, i] / 2) / se)
    assert worst > 5  # a union bound that is too small is detected by the same 5-SE rule


# ------------------------------------------------------------------------------------------ (M7)-(M9)
@pytest.mark.parametrize("n,S", [(2, 0.0), (8, 0.5), (64, 0.9), (64, 0.97)])
def test_argmax_moments_vs_monte_carlo(n, S):
    rng = np.random.default_rng(n)
    x, y = sample(n, S, 200000, rng)
    N = len(y)
    xa = x[np.arange(N), y]
    xo = x[np.arange(N), (y + 1) % n]
    mo = T.argmax_moments(n, S)
    for name, v, th in (("alpha", xa, mo["alpha"]), ("beta", xo, mo["beta"])):
        assert abs(v.mean() - th) <= 5 * v.std() / math.sqrt(N), name
    for name, v, th in (("sM", (xa - xa.mean()) ** 2, mo["sM"]), ("sO", (xo - xo.mean()) ** 2, mo["sO"]),
                        ("kappa", (xa - xa.mean()) * (xo - xo.mean()), mo["kappa"])):
        assert abs(v.mean() - th) <= 5 * v.std() / math.sqrt(N) + 1e-12, name
    # closed form and quadrature agree where both apply
    q = T._moments_quadrature(np.array([float(n)]), np.array([S]))
    for key in ("alpha", "beta", "sM", "sO", "kappa"):
        assert float(q[key][0]) == pytest.approx(float(mo[key]), rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("n,r,S,s", [(64, 16, 0.9, 0.1), (32, 32, 0.8, 0.3), (16, 4, 0.5, 0.02), (64, 64, 0.97, 0.0)])
def test_orthogonal_accuracy_vs_monte_carlo(n, r, S, s):
    rng = np.random.default_rng(r)
    N = 100000
    x, y = sample(n, S, N, rng)
    acc = float(np.mean((x[:, :r] + s * rng.standard_normal((N, r))).argmax(axis=1) == y))
    th = float(T.orthogonal_accuracy(n, r, S, s))
    assert abs(acc - th) <= 5 * math.sqrt(th * (1 - th) / N)
    if s == 0:
        assert th == pytest.approx(float(T.accuracy_clean(n, r, S)))


def test_drop_loss_and_monotonicity():
    assert float(T.drop_loss(64, 16, 0.9)) == pytest.approx((1 - 16 / 64) * (1 - 0.9**64))
    acc = T.orthogonal_accuracy(64, 16, 0.9, np.linspace(0, 2, 11))
    assert np.all(np.diff(acc) < 0) and acc[-1] > 1 / 64 - 1e-3


@settings(max_examples=8)
@given(st.integers(6, 24), st.integers(3, 8), st.floats(0.5, 0.95), st.floats(0.0, 0.5), st.integers(0, 2**31))
def test_fisher_random_expectation_vs_monte_carlo(n, m, S, lam, seed):
    """(M9) ratio of expectations vs the ratio of means over random codes (delta-method SE)."""
    rng = np.random.default_rng(seed)
    k = 150
    parts = np.array([T.fisher_parts((W := make_W("random", n, m, n, rng)).T @ W, n, S) for _ in range(k)])
    num, den = parts[:, 0], parts[:, 1] + lam**2 * parts[:, 2]
    ratio = num.mean() / den.mean()
    c = np.cov(num, den)
    se = math.sqrt(max(c[0, 0] - 2 * ratio * c[0, 1] + ratio**2 * c[1, 1], 0.0) / k) / den.mean()
    th = float(T.expected_fisher_separation(n, n, m, S, lam))
    assert abs(ratio - th) <= 5 * se + 1e-9 * th


def test_fisher_code_exact_vs_samples_and_mono_limit():
    """The exact per-code J (M9) vs a plug-in estimate from 400k samples; mono = m -> infinity."""
    rng = np.random.default_rng(5)
    n, r, S = 16, 12, 0.8
    W = make_W("random", n, 6, r, rng)
    G = W.T @ W
    x, y = sample(n, S, 400000, rng)
    s = x @ G[:, :r]
    num, den = [], []
    stats = {c: (s[y == c].mean(axis=0), np.cov(s[y == c].T)) for c in range(r)}
    for a in range(r):
        for b in range(r):
            if a != b:
                d = (stats[a][0][a] - stats[a][0][b]) - (stats[b][0][a] - stats[b][0][b])
                va = stats[a][1][a, a] + stats[a][1][b, b] - 2 * stats[a][1][a, b]
                vb = stats[b][1][a, a] + stats[b][1][b, b] - 2 * stats[b][1][a, b]
                num.append(d * d)
                den.append(va + vb)
    emp = np.mean(num) / np.mean(den)
    assert emp == pytest.approx(float(T.fisher_separation_code(G, r, S)), rel=0.03)
    mono = T.fisher_separation_code(np.eye(n), r, S, 0.2)
    assert mono == pytest.approx(float(T.expected_fisher_separation(n, r, 10**9, S, 0.2)), rel=1e-6)
    assert mono == pytest.approx(float(T.expected_fisher_separation(n, r, 3, S, 0.2, code="mono")))


# ------------------------------------------------------------------------------------------ (M10), (M11)
def test_balance_noise_bracket_is_certified():
    b = T.balance_noise(64, 16, 64, 0.9, 63 / 16)
    assert b.sign_at_zero == -1 and b.bracket[0] <= b.lam_star <= b.bracket[1]
    assert b.f_bracket[0] * b.f_bracket[1] <= 0 and b.bracket[1] - b.bracket[0] <= 3e-6
    f = (T.orthogonal_accuracy(64, 16, 0.9, np.array(b.bracket))
         - T.meanfield_accuracy(64, 64, 0.9, np.array(b.bracket), 63 / 16))
    assert f[0] * f[1] <= 0
    none = T.balance_noise(64, 16, 64, 0.8, 63 / 16)  # random codes never beat mono at S = 0.8
    assert none.sign_at_zero == 1 and math.isnan(none.lam_star)
    # at lam*, the accuracy lost by dropping equals the accuracy lost to interference (n_rep = n)
    d = T.dropping_loss(64, 16, 0.9, b.lam_star)
    i = T.interference_loss(64, 64, 0.9, b.lam_star, 63 / 16)
    assert d == pytest.approx(i, abs=1e-5)
    assert float(T.dropping_loss(64, 16, 0.9)) == pytest.approx(float(T.drop_loss(64, 16, 0.9)))


# ------------------------------------------------------------------------------------------ cache, claims, validation
def test_cache_is_fresh():
    from theory.derive import margins as D

    assert D.stale_files(D.fresh()) == []
    assert len(D.CHECKED) > 50


def test_runtime_does_not_import_sympy():
    import subprocess
    import sys

    code = "import sys, theory.margins; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_claims_registered_and_pass():
    from theory import claims as C
    from sims.engine.backend import rng

    ids = {c.id for c in C.all_claims()}
    assert {c.id for c in TC.MARGIN_CLAIMS} <= ids
    for c in TC.MARGIN_CLAIMS:
        res = c.check(rng(0, c.id))
        assert res.passed, (c.id, res.evidence)


@pytest.mark.parametrize("call,name", [
    (lambda: T.welch_bound(-1, 3), "n_rep"),
    (lambda: T.margin_bound_worst(1.5, 2, 0.1), "mu"),
    (lambda: T.margin_bound_worst(0.2, 2, 0.1, (0.5, 0.2)), "amplitude"),
    (lambda: T.readout_noise_variance(np.eye(3), -0.1), "lam"),
    (lambda: T.readout_noise_variance(np.eye(3), 0.1, space="z"), "space"),
    (lambda: T.orthogonal_accuracy(10, 4, 1.0, 0.1), "sparsity"),
    (lambda: T.orthogonal_accuracy(10, 11, 0.5, 0.1), "n_rep"),
    (lambda: T.matched_filter_margins(-np.ones((2, 3)), np.array([0, 1]), np.eye(3), 3), "x"),
    (lambda: T.expected_fisher_separation(10, 4, 3, 0.5, code="poly"), "code"),
])
def test_validation_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        call()


@pytest.mark.parametrize("case", ["random", "duplicate_columns", "mono"])
def test_error_bounds_equal_termwise_reference(case):
    """(M6) against a term-by-term reference (a loop over samples and features): noisy terms Phi(-d_j/sigma_j),
    deterministic terms where sigma_j = 0 (duplicate columns), lam = 0 and a lam so small that lam sigma
    underflows; the own term j = y never counts."""
    from scipy.special import ndtr

    rng = np.random.default_rng(3)
    n, m, N = 9, 4, 60
    W = rng.standard_normal((m, n))
    if case == "duplicate_columns":
        W[:, 3] = W[:, 2]
        W[:, 7] = -W[:, 6]
    if case == "mono":
        n, W = 4, np.eye(4)
    W /= np.linalg.norm(W, axis=0)
    x = rng.random((N, n)) * (rng.random((N, n)) < 0.6)
    y = x.argmax(axis=1)
    lams = np.array([0.0, 1e-320, 0.05, 0.7])
    lo, up = T.error_bounds(x, y, W, n, lams)
    G = W.T @ W
    V = T.pair_noise_variance(W, 1.0)
    for i in range(N):
        s = x[i] @ G
        for k, lv in enumerate(lams):
            terms_lo, terms_up = [], []
            for j in range(n):
                if j == y[i]:
                    continue
                d, sd = s[y[i]] - s[j], lv * math.sqrt(V[y[i], j])
                if sd > 0:
                    with np.errstate(over="ignore"):  # d / sd beyond the float range: Phi is 0 or 1
                        z = -d / sd
                    terms_lo.append(ndtr(z))
                    terms_up.append(ndtr(z))
                else:
                    terms_lo.append(float(d < 0))
                    terms_up.append(float(d <= 0))
            if x[i].max() > 0:  # covered
                assert lo[k, i] == pytest.approx(max(terms_lo), rel=1e-12, abs=1e-300)
                assert up[k, i] == pytest.approx(min(1.0, sum(terms_up)), rel=1e-12, abs=1e-300)
            else:
                assert np.isnan(lo[k, i]) and np.isnan(up[k, i])
