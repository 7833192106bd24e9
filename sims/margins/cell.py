"""The main job's cell: one (code, ratio, sparsity) cell of ``python -m sims.margin_sweep``.

The code of the cell (:func:`build_code`), then per replicate the matched filter and the least-squares
probes under input and label noise, the margin / separation / accuracy measures and the bounds of
``theory.margins`` beside them. The rows and their columns are described in :mod:`sims.margins.config`.

Array backend: data and codes are made on the host (numpy Generators, cached) and moved to the run's
device (``sims.engine.backend.using``, set by the runner) once per replicate (training set, code) and once
per chunk of test rows; the encodings, the matched-filter scores at every input-noise level, the probes'
fits and their scores at every label- and input-noise level, and the argmax / signed margins run there.
What goes back to the host, explicitly (``sims.engine.backend.to_numpy``): the clean scores and the noise
direction of each chunk (the closed-form bounds of ``theory.margins`` and the Fisher class sums are host
numpy), and the per-sample hits and margins of each readout (their quantiles have no Array-API form).
On numpy every move is a no-op and the arithmetic is the same, so numpy results are unchanged.
"""
from __future__ import annotations

import functools
import math
from collections import OrderedDict
from typing import Any

import numpy as np

from sims.engine import backend as B
from sims.margins.config import ORTHONORMAL_TOL, QUANTILES, cell_is_valid, n_rep_of

__all__ = ["build_code", "represented_count", "cell_fn"]

_QNAMES = tuple(f"q{int(round(100 * q)):02d}" for q in QUANTILES)



def build_code(code: str, n: int, m: int, n_rep: int, seed: Any, *, frame_iter: int = 0,
               sparsity: float = 0.9, amplitude: tuple[float, float] = (0.0, 1.0),
               toy: tuple[int, int, float] = (2000, 256, 0.01)) -> np.ndarray:
    """``W`` ``(m, n)``: the family's code for the first ``n_rep`` features, zero columns after.

    ``"trained"``: a toy model of superposition (``sims.engine.toy_model``: ReLU output, Adam, ``toy`` = (steps,
    batch, lr)) trained on the first ``n_rep`` features at ``sparsity`` / ``amplitude``; the columns it
    represents (norm > 0.5) are normalised and moved to the front (the features are exchangeable), the
    others are zero: the code then represents ``n_eff <= n_rep`` features (its nonzero columns)."""
    from sims.engine.codes import make_code

    if not cell_is_valid(code, n_rep, m):
        raise ValueError(f"code == {code!r} is not defined for n_rep == {n_rep}, m == {m}")
    W = np.zeros((m, n))
    if code == "mono":
        W[:, :m] = np.eye(m)
    elif code == "antipodal":
        pairs = n_rep - m  # features 2k, 2k+1 on +-e_k for k < pairs; then one feature per axis
        for k in range(pairs):
            W[k, 2 * k], W[k, 2 * k + 1] = 1.0, -1.0
        for j, axis in zip(range(2 * pairs, n_rep), range(pairs, m)):
            W[axis, j] = 1.0
    elif code == "trained":
        ss = B.seed_sequence(seed)  # the toy model takes an int seed: a stable digest of the sequence
        toy_seed = B.stable_key((tuple(ss.spawn_key), int(ss.entropy)))
        Wt = _trained(n_rep, m, float(sparsity), tuple(float(a) for a in amplitude), toy_seed, *toy)
        W[:, : Wt.shape[1]] = Wt
    else:  # any other family of the engine (random, frame, ...): its code of the first n_rep features
        opts = {"n_iter": frame_iter} if code == "frame" else {}
        W[:, :n_rep] = B.to_numpy(make_code(code, n_rep, m, seed, **opts))
    return W


@functools.lru_cache(maxsize=32)
def _trained(n_rep: int, m: int, S: float, amplitude: tuple, seed: int, steps: int, batch: int,
             lr: float) -> np.ndarray:
    """Represented, normalised columns ``(m, n_eff)`` of a toy model trained on ``n_rep`` features."""
    from sims.engine.generators import FeatureSpec
    from sims.engine.toy_model import SyntheticBatches, ToyModelConfig, train_toy_model

    cfg = ToyModelConfig(n_features=n_rep, n_hidden=m, steps=steps, lr=lr, seed=seed, dtype="float64",
                         log_every=steps)
    spec = FeatureSpec(n_rep, sparsity=S, amplitude=amplitude)
    res = train_toy_model(cfg, SyntheticBatches(spec, None, batch, seed, steps=steps), threads=1)
    Wt = np.asarray(B.to_numpy(res.W))[0]  # (m, n_rep)
    norms = np.linalg.norm(Wt, axis=0)
    keep = norms > 0.5
    return Wt[:, keep] / norms[keep]


def represented_count(W: np.ndarray) -> int:
    """Number of nonzero (represented) columns; they come first in every code built here."""
    return int(np.sum(np.linalg.norm(W, axis=0) > 0))


# ------------------------------------------------------------------------------------------------ the cell
def _quantiles(v: np.ndarray) -> dict[str, float]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {f"margin_{q}": float("nan") for q in _QNAMES}
    return {f"margin_{name}": float(val) for name, val in zip(_QNAMES, np.quantile(v, QUANTILES))}


def _bound_row(bound: str, stat: str, value: float, empirical: float, *, holds: float = float("nan"),
               informative: float = float("nan"), covered: float = float("nan"), level: float = float("nan"),
               kind: str = "lower_bound") -> dict:
    """One check row (``record="check"``) comparing a theory ``value`` with the ``empirical`` statistic.

    ``kind``: "lower_bound" / "upper_bound" (of the empirical statistic), "identity" (equal in
    expectation) or "approximation" (a model). ``tightness = empirical / value`` except for upper
    bounds, where it is ``value / empirical``: 1 means tight, larger means looser; NaN where undefined
    (a lower bound <= 0 is vacuous)."""
    lower = kind != "upper_bound"
    if lower:
        tight = empirical / value if (np.isfinite(value) and value > 0) else float("nan")
    else:
        tight = value / empirical if (np.isfinite(empirical) and empirical > 0) else float("nan")
    return {"record": "check", "check": bound, "kind": kind, "stat": stat, "level": level, "value": value,
            "empirical": empirical, "tightness": tight, "holds": holds, "informative": informative,
            "covered": covered}


#: above this many represented features the class sums of the pooled Fisher estimate are segment sums of
#: the rows sorted by class (O(N r)) instead of a one-hot product (O(N r^2)); equal up to rounding
_ONEHOT_MAX_R = 256


def _fisher_sums(S0: np.ndarray, E: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class sums over the rows of ``S0``, ``E`` (``(N, r)``) whose label ``y < r`` (chunks add up):
    counts ``cnt`` and the class sums of ``s0, e, s0^2, s0 e, e^2`` and of the own-class cross products."""
    r = S0.shape[1]
    sel = y < r
    S0, E, yy = S0[sel], E[sel], y[sel]
    if r > _ONEHOT_MAX_R:  # rows sorted by class: the class sums are segment sums
        order = np.argsort(yy, kind="stable")
        S0, E, yy = S0[order], E[order], yy[order]
    rows = np.arange(len(yy))
    t0, tE = S0[rows, yy], E[rows, yy]  # own-class score
    terms = (("s0", lambda: S0), ("e", lambda: E), ("s0s0", lambda: S0 * S0), ("s0e", lambda: S0 * E),
             ("ee", lambda: E * E), ("t0s0", lambda: t0[:, None] * S0),
             ("t0e", lambda: t0[:, None] * E + tE[:, None] * S0), ("tee", lambda: tE[:, None] * E))
    if r <= _ONEHOT_MAX_R:
        P = np.zeros((len(yy), r))
        P[rows, yy] = 1.0
        return {"cnt": P.sum(axis=0), **{k: P.T @ v() for k, v in terms}}
    from sims.engine.probes import class_sums

    out = {"cnt": np.bincount(yy, minlength=r).astype(np.float64)}
    for k, v in terms:
        out[k] = class_sums(v(), yy, r, presorted=True)
    return out


#: above this many represented features the pooled Fisher estimate is evaluated as a polynomial in lam
#: (:func:`_fisher_poly`); at or below it level by level (results of small runs stay bit for bit)
_FISHER_POLY_R = 256


def _add_sums(a: dict | None, b: dict) -> dict:
    return b if a is None else {k: a[k] + b[k] for k in a}


def _fisher_from_sums(sums: dict[str, np.ndarray], lams: np.ndarray) -> np.ndarray:
    """The pooled Fisher separation (M9) at every ``lam`` from the class sums of :func:`_fisher_sums`."""
    cnt = sums["cnt"]
    r = len(cnt)
    ok = cnt >= 2
    safe = np.where(ok, cnt, 1.0)
    out = np.empty(len(lams))
    off = ~np.eye(r, dtype=bool) & ok[:, None] & ok[None, :]
    if not off.any():
        return np.full(len(lams), np.nan)
    if r > _FISHER_POLY_R:
        return _fisher_poly(sums, lams, safe)
    for i, lv in enumerate(lams):
        M = (sums["s0"] + lv * sums["e"]) / safe[:, None]  # (class, feature) means
        sq = sums["s0s0"] + 2 * lv * sums["s0e"] + lv * lv * sums["ee"]
        var_diag = (sq - cnt[:, None] * M * M) / np.maximum(cnt - 1, 1)[:, None]  # Var[s_b | c]
        cross = sums["t0s0"] + lv * sums["t0e"] + lv * lv * sums["tee"]
        own = np.diag(M)
        cov_row = (cross - cnt[:, None] * own[:, None] * M) / np.maximum(cnt - 1, 1)[:, None]  # Cov[s_c, s_b | c]
        vown = np.diag(var_diag)
        Vrow = vown[:, None] + var_diag - 2 * cov_row  # Vrow[c, b] = Var[s_c - s_b | y = c]
        D = own[:, None] - M - M.T + own[None, :]  # D[a, b] = (M_a[a] - M_a[b]) - (M_b[a] - M_b[b])
        num = D * D - Vrow / safe[:, None] - Vrow.T / safe[None, :]
        den = Vrow + Vrow.T
        out[i] = num[off].mean() / den[off].mean()
    return out


def _fisher_poly(sums: dict[str, np.ndarray], lams: np.ndarray, safe: np.ndarray) -> np.ndarray:
    """:func:`_fisher_from_sums` for many features: the pair averages of numerator and denominator are
    polynomials of degree 2 in ``lam`` (class means are linear in it, second moments quadratic), so their
    coefficients are averaged once over the ``r x r`` pairs and evaluated at every ``lam`` (``O(r^2 + L)``
    instead of ``O(L r^2)``); the averages over the (symmetric) set of pairs are weighted matrix-vector sums.
    The same quantities as the level-by-level form, equal up to rounding."""
    cnt = sums["cnt"]
    k = np.maximum(cnt - 1, 1)[:, None]
    Ma, Mb = sums["s0"] / safe[:, None], sums["e"] / safe[:, None]  # M = Ma + lam Mb
    c = cnt[:, None]
    V = ((sums["s0s0"] - c * Ma * Ma) / k, (2 * sums["s0e"] - 2 * c * Ma * Mb) / k, (sums["ee"] - c * Mb * Mb) / k)
    oa, ob = np.diag(Ma)[:, None], np.diag(Mb)[:, None]
    Cr = ((sums["t0s0"] - c * oa * Ma) / k, (sums["t0e"] - c * (oa * Mb + ob * Ma)) / k,
          (sums["tee"] - c * ob * Mb) / k)
    R = [np.diag(v)[:, None] + v - 2 * cr for v, cr in zip(V, Cr)]  # Var[s_c - s_b | y = c], per power of lam
    D0 = oa - Ma - Ma.T + oa.T
    D1 = ob - Mb - Mb.T + ob.T
    w = (cnt >= 2).astype(float)  # the classes of the pairs: off = (w w^T, without the diagonal)
    pairs = float(w.sum() ** 2 - w.sum())
    wi = w / safe

    def mean(X: np.ndarray, u: np.ndarray = w) -> float:  # sum over the pairs of u_a X_ab, / pairs
        return float((u @ (X @ w) - np.dot(np.diagonal(X), u * w)) / pairs)

    # off is symmetric: the averages of X^T equal those of X
    num = [mean(D0 * D0) - 2 * mean(R[0], wi), mean(2 * D0 * D1) - 2 * mean(R[1], wi),
           mean(D1 * D1) - 2 * mean(R[2], wi)]
    den = [2 * mean(Rk) for Rk in R]
    lv = np.asarray(lams, dtype=float)
    return (num[0] + lv * (num[1] + lv * num[2])) / (den[0] + lv * (den[1] + lv * den[2]))


def _pooled_fisher(S0: np.ndarray, E: np.ndarray, y: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Empirical pooled Fisher separation (M9) of the matched-filter differences ``s_a - s_b`` between
    argmax classes ``a != b`` of the represented features, for scores ``S0 + lam E`` at every ``lam``.

    Unbiased class variances (ddof 1) and bias-corrected squared mean gaps
    (``Delta^2 - V_a/n_a - V_b/n_b``), so numerator and denominator are unbiased pair averages."""
    return _fisher_from_sums(_fisher_sums(S0, E, y), lams)


def _hits_margins(S: Any, y: Any, yc: Any, covered: Any) -> tuple[Any, Any]:
    """``argmax(S) == y`` and the signed margins ``S_yc - max_{c != yc} S_c`` of scores ``S (N, C)``, NaN where not
    covered: ``sims.engine.metrics.signed_margins`` bit for bit (``+ 0.0``: its masked sum turns -0.0 into 0.0).
    On numpy one pass for the argmax; the best other score is the top score unless the top is ``yc``, and only
    those rows are copied to find their runner-up. Elsewhere (a device backend) the same numbers through the
    standard's masked sum and max (:func:`_hits_margins_xp`)."""
    if not isinstance(S, np.ndarray):
        return _hits_margins_xp(S, y, yc, covered)
    pred = S.argmax(axis=-1)
    rows = np.arange(len(yc))
    true = S[rows, yc] + 0.0
    other = S[rows, pred]
    top = pred == yc
    if top.any():
        sub = S[top]
        sub[np.arange(len(sub)), yc[top]] = -np.inf
        other[top] = sub.max(axis=-1)
    return pred == y, np.where(covered, true - other, np.nan)


#: a device batches the levels of a readout into one call while the (levels, rows, classes) scores stay
#: below this many bytes (else level by level)
_BATCH_BYTES = 2.0**28


def _levels(scores: Any, levels: np.ndarray, y: Any, yc: Any, covered: Any, batched: Any = None) -> list:
    """Hits and margins (host arrays) of the readout ``scores(level)`` at every level. On numpy one level at a
    time (the fast path of :func:`_hits_margins`); on a device backend every level in one batched call
    (``batched()`` or the scores stacked by broadcasting) and one transfer back, when it fits
    :data:`_BATCH_BYTES`. The same numbers either way."""
    first = scores(float(levels[0]))
    if isinstance(first, np.ndarray) or len(levels) == 1 or \
            len(levels) * first.shape[0] * first.shape[1] * 8 > _BATCH_BYTES:
        out = []
        for i, lv in enumerate(levels.tolist()):
            h, g = _hits_margins(first if i == 0 else scores(lv), y, yc, covered)
            out.append((B.to_numpy(h), B.to_numpy(g)))
        return out
    xp = B.get_namespace(first)
    if batched is not None:
        S = batched()
    else:
        S = xp.stack([first] + [scores(lv) for lv in levels.tolist()[1:]])  # (levels, rows, classes)
    h, g = _hits_margins_xp(S, y, yc, covered)
    h, g = B.to_numpy(h), B.to_numpy(g)  # one transfer each
    return [(h[i], g[i]) for i in range(len(levels))]


def _hits_margins_xp(S: Any, y: Any, yc: Any, covered: Any) -> tuple[Any, Any]:
    """:func:`_hits_margins` in Array-API functions only (equal bit for bit: the masked sum adds zeros to one
    score, the masked max is the max over the other classes)."""
    xp = B.get_namespace(S)
    dev = B.device_of(S)
    hot = yc[:, None] == xp.arange(S.shape[-1], dtype=yc.dtype, device=dev)  # (N, C)
    true = xp.sum(xp.where(hot, S, xp.zeros((), dtype=S.dtype, device=dev)), axis=-1) + 0.0
    other = xp.max(xp.where(hot, xp.asarray(-xp.inf, dtype=S.dtype, device=dev), S), axis=-1)
    nan = xp.asarray(xp.nan, dtype=S.dtype, device=dev)
    return xp.argmax(S, axis=-1) == y, xp.where(covered, true - other, nan)


#: above this many features the cell uses factored forms of the same quantities (scores ``(x W^T) W_r``
#: instead of ``x (W^T W_r)``, pair variances ``W_r^T (W W^T) W_r``): ``O(m)`` instead of ``O(n)`` per entry,
#: equal up to rounding; at or below it, the direct forms (results of small runs stay bit for bit)
_LARGE_N = 256


def _pair_variance(W: np.ndarray, n_rep: int) -> np.ndarray:
    """(M5) ``Var[s_a - s_b]`` at unit noise for ``a, b < n_rep``: ``theory.margins.pair_noise_variance(W)``
    restricted to the represented features, through ``G^2 = W^T (W W^T) W`` (``O(m^2 n + m r^2)``)."""
    Wr = W[:, :n_rep]
    M = Wr.T @ ((W @ W.T) @ Wr)  # (G^2)_ab
    d = np.diag(M)
    return np.maximum(d[:, None] + d[None, :] - 2.0 * M, 0.0)


class _Moments:
    """Column variances (ddof 1) of row chunks: ``numpy.var`` itself for one chunk, Chan's pairwise update
    of (count, mean, sum of squared deviations) for several."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.single: np.ndarray | None = None

    def add(self, A: np.ndarray) -> None:
        if not self.parts and self.single is None:
            self.single = A.var(axis=0, ddof=1) if len(A) > 1 else np.full(A.shape[1], np.nan)
        mean = A.mean(axis=0)
        self.parts.append((len(A), mean, ((A - mean) ** 2).sum(axis=0)))

    def var(self) -> np.ndarray:
        if len(self.parts) == 1:
            return self.single
        n, mean, m2 = self.parts[0]
        for nb, mb, m2b in self.parts[1:]:
            d = mb - mean
            tot = n + nb
            mean = mean + d * (nb / tot)
            m2 = m2 + m2b + d * d * (n * nb / tot)
            n = tot
        return m2 / (n - 1)


# ------------------------------------------------------------------------------------------------ data
class _Cache:
    """A byte-bounded LRU cache of read-only arrays (the data every code and ratio of a sparsity reads)."""

    def __init__(self) -> None:
        self.items: OrderedDict = OrderedDict()
        self.nbytes = 0

    def get(self, key: tuple, make: Any, cap: float) -> tuple:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        for a in value:
            a.flags.writeable = False
        size = sum(a.nbytes for a in value)
        if size <= cap:
            self.items[key] = value
            self.nbytes += size
            while self.nbytes > cap:
                _, old = self.items.popitem(last=False)
                self.nbytes -= sum(a.nbytes for a in old)
        return value


_DATA = _Cache()


def _streams(seed: int, rep: int, n: int, S: float, lo: float, hi: float) -> tuple:
    from sims.engine.generators import FeatureSpec

    ss = B.seed_sequence(seed, "rep", rep)
    return FeatureSpec(n, sparsity=S, amplitude=(lo, hi)), ss


def _test_rows(seed: int, rep: int, n: int, S: float, lo: float, hi: float, start: int, stop: int) -> tuple:
    """Test rows ``[start, stop)`` of a replicate: features, labels and the N(0, 1) input-noise draws. The
    streams are indexed by row, so chunks concatenate to the whole test set. The seed depends on the sparsity
    only: every code and ratio at a sparsity reads the same data (common random numbers)."""
    from sims.engine.generators import add_input_noise, make_labels, sample_features

    spec, ss = _streams(seed, rep, n, S, lo, hi)
    test = B.seed_sequence(ss, "test")
    x = B.to_numpy(sample_features(spec, stop - start, test, start=start))  # (rows, n)
    y = B.to_numpy(make_labels(x, "argmax", test, start=start))  # (rows,)
    z = B.to_numpy(add_input_noise(np.zeros_like(x), 1.0, B.seed_sequence(ss, "noise"), start=start))  # N(0, 1)
    return x, y, z


def _train_rows(seed: int, rep: int, n: int, S: float, lo: float, hi: float, n_train: int) -> tuple:
    from sims.engine.generators import make_labels, sample_features

    spec, ss = _streams(seed, rep, n, S, lo, hi)
    x_tr = B.to_numpy(sample_features(spec, n_train, B.seed_sequence(ss, "train")))  # (n_train, n)
    return x_tr, B.to_numpy(make_labels(x_tr, "argmax", B.seed_sequence(ss, "train")))


def _chunks(N: int, rows: int) -> list[tuple[int, int]]:
    return [(lo, min(N, lo + rows)) for lo in range(0, N, rows)]


def _cell_code(cell: dict, seed: int, rep: int, n_rep: int) -> np.ndarray:
    """The code of a cell's replicate: random codes are redrawn per replicate (seeded by the cell);
    frames and trained toy models are built once from ``code_seed`` (only the data vary)."""
    code, m = cell["code"], cell["m"]
    if code in ("frame", "trained"):
        code_seed = B.seed_sequence(cell["code_seed"], code, n_rep, m)
    else:
        code_seed = B.seed_sequence(seed, "code", code, n_rep, rep)
    return build_code(code, cell["n_features"], m, n_rep, code_seed, frame_iter=cell["frame_iter"],
                      sparsity=cell["sparsity"], amplitude=tuple(cell["amplitude"]),
                      toy=(cell.get("toy_steps", 2000), cell.get("toy_batch", 256), cell.get("toy_lr", 0.01)))


def _label_noise_name(cell: dict) -> str:
    """The ``noise`` value of label-noise rows: "label" (symmetric, the default) or "label_<kind>"."""
    kind = cell.get("label_noise_kind", "symmetric")
    return "label" if kind == "symmetric" else f"label_{kind}"


def _noisy_labels(cell: dict, x: np.ndarray, y: np.ndarray, rates: np.ndarray, seed: Any) -> np.ndarray:
    """Training labels under every rate ``(L, n)``, flips nested in the rate, by the cell's label_noise_kind:
    symmetric (the default), classcond (class 2k+1 -> 2k at the rate: the one-sided class-conditional noise
    of theory.two_feature, transition=(0, rate), on each feature pair) or margin (flip w.p.
    rate exp(-(x_top - x_runner-up) / margin_tau) to the runner-up class: margin_noise=(rate, tau))."""
    from sims.engine.generators import flip_labels

    kind, n = cell.get("label_noise_kind", "symmetric"), cell["n_features"]
    if kind == "symmetric":
        return B.to_numpy(flip_labels(y, n, rates[:, None], seed))
    if kind == "classcond":
        T = np.eye(n)
        for k in range(1, n, 2):
            T[k, k], T[k, k - 1] = 0.0, 1.0
        return B.to_numpy(flip_labels(y, n, rates[:, None], seed, kind="matrix", matrix=T))
    order = np.argsort(-x, axis=1, kind="stable")
    top, runner = x[np.arange(len(x)), order[:, 0]], order[:, 1]
    runner = np.where(runner == y, order[:, 0], runner)  # ties at the top: the other tied feature
    return B.to_numpy(flip_labels(y, n, rates[:, None], seed, kind="margin",
                                  margin=top - x[np.arange(len(x)), runner], scale=float(cell["margin_tau"]),
                                  target=runner))


def _one_rep(cell: dict, seed: int, rep: int, W: np.ndarray) -> list[dict]:
    from sims.engine.probes import fit_linear
    from sims.margins.config import CACHE_SHARE, memory_plan
    from theory import margins as T

    code, S = cell["code"], cell["sparsity"]
    n, m = cell["n_features"], cell["m"]
    lo, hi = cell["amplitude"]
    lams = np.asarray(cell["input_noise"], dtype=float)
    etas = np.asarray(cell["label_noise"], dtype=float)
    n_trains = tuple(int(v) for v in cell["n_train"])
    theory_ok = lo == 0.0  # the accuracy / Fisher theory is for amplitude U(0, hi)

    # ---- code ------------------------------------------------------------------------------------
    n_rep = represented_count(W)  # = round(ratio * m), except for trained codes (what the model kept)
    G = W.T @ W  # (n, n)
    mu = T.coherence(W, n_rep)
    welch = float(T.welch_bound(n_rep, m))
    nu = T.interference_nu(G, n_rep)
    base = {"rep": rep, "n_rep": n_rep, "mu": mu}

    # ---- data (common random numbers across codes and ratios: the seed depends on sparsity only) ----
    # test samples in chunks that fit the memory budget (one chunk, cached, when the whole set fits)
    ss = B.seed_sequence(seed, "rep", rep)
    plan = memory_plan(cell)
    cap = CACHE_SHARE * plan.budget
    key = (seed, rep, n, S, lo, hi)
    N = int(cell["n_test"])
    x_tr, y_tr = _DATA.get(("train", *key, max(n_trains)), lambda: _train_rows(*key, max(n_trains)), cap)
    chunks = _chunks(N, plan.chunk_rows)

    def test_rows(a: int, b: int) -> tuple:
        if len(chunks) == 1:
            return _DATA.get(("test", *key, N), lambda: _test_rows(*key, 0, N), cap)
        return _test_rows(*key, a, b)

    # ---- on the run's device: the code, the training set (host numpy moves as a no-op on numpy) ------------
    xp = B.resolve_backend()

    def dev(a: np.ndarray) -> Any:
        return B.asarray(a, xp)

    Wd = dev(W)
    Wt = xp.matrix_transpose(Wd)
    # ---- least-squares probes on h, fitted on the training set (one factorization per training size) ---
    H_tr = xp.matmul(dev(x_tr), Wt)  # (n_train_max, m)
    eta_all = np.unique(np.concatenate([[0.0], etas]))
    probes = []
    for nt in n_trains:
        y_sets = _noisy_labels(cell, x_tr[:nt], y_tr[:nt], eta_all, B.seed_sequence(ss, "flip"))  # (L, nt)
        probe = fit_linear(H_tr[:nt, ...], dev(y_sets), n, label_sets=True)
        probes.append((probe.coef, probe.intercept))  # (L, m, n), (L, n) on the device

    # ---- per chunk: the per-sample quantities (margins, hits, bounds); class sums and moments add up -----
    G_r, W_r = dev(np.ascontiguousarray(G[:, :n_rep])), Wd[:, :n_rep]
    large = n > _LARGE_N
    pos = lams > 0
    pair_var = None  # (M5), once per replicate
    if pos.any():
        pair_var = _pair_variance(W, n_rep) if large else T.pair_noise_variance(W, 1.0)[:n_rep, :n_rep]
    keep: dict[str, list] = {k: [] for k in ("y", "marg", "covered", "b_s", "b_w", "tol", "low", "up")}
    mf = [([], []) for _ in lams]  # matched filter per lam: hits, margins
    pr_eta = [[([], []) for _ in eta_all] for _ in n_trains]  # probes under label noise
    pr_lam = [[([], []) for _ in lams] for _ in n_trains]  # probes under input noise (eta = 0)
    moments, fsums = _Moments(), None
    for a, b in chunks:
        x, y, z = test_rows(a, b)  # host
        xd, zd, yd = dev(x), dev(z), dev(y)  # one move per chunk
        H = xp.matmul(xd, Wt)  # (rows, m)
        Hz = xp.matmul(zd, Wt)  # (rows, m): h-noise direction
        S0d = xp.matmul(H, W_r) if large else xp.matmul(xd, G_r)  # (rows, r) clean scores
        Ed = xp.matmul(Hz, W_r) if large else xp.matmul(zd, G_r)  # (rows, r) noise direction: S0 + lam E at lam
        S0, E = B.to_numpy(S0d), B.to_numpy(Ed)  # host copies: the closed-form bounds and the Fisher sums
        # clean margins and the margin bounds (M3), (M4)
        marg, covered = T.matched_filter_margins(x, y, G, n_rep, scores=S0)  # NaN where not covered
        yc = np.where(covered, y, 0)
        ycd, covd = dev(yc), dev(covered)
        st = T.sample_structure(x, y, n_rep)
        b_w = np.full(len(y), np.nan)
        if covered.any():
            b_w[covered] = T.margin_bound_worst(mu, np.maximum(st["k"][covered], 1),
                                                np.clip(st["gap"][covered], 0.0, hi), (lo, hi))
        for k_, v_ in (("y", y), ("marg", marg), ("covered", covered), ("b_s", T.margin_bound_sample(x, y, mu, n_rep)),
                       ("b_w", b_w), ("tol", 1e-9 * (1.0 + np.abs(S0).max(axis=1)))):
            keep[k_].append(v_)
        moments.add(E)
        fsums = _add_sums(fsums, _fisher_sums(S0, E, y))
        # matched filter under input noise: every level (numpy: one at a time, its fast path)
        for i, (h_, g_) in enumerate(_levels(lambda lv: S0d + lv * Ed, lams, yd, ycd, covd)):
            mf[i][0].append(h_)
            mf[i][1].append(g_)
        if covered.any() and pos.any():  # (M6) error bounds of the covered samples
            low, up = T.error_bounds(x[covered], y[covered], W, n_rep, lams[pos], pair_var=pair_var,
                                     scores=S0[covered])
            keep["low"].append(low)
            keep["up"].append(up)
        for j, (coef, icpt) in enumerate(probes):
            sc0 = xp.matmul(H, coef[0, ...]) + icpt[0, ...]  # (rows, n) eta = 0
            etas_scores = (lambda i: sc0 if int(i) == 0 else xp.matmul(H, coef[int(i), ...]) + icpt[int(i), ...])
            for i, (h_, g_) in enumerate(_levels(etas_scores, np.arange(len(eta_all), dtype=float), yd, ycd, covd,
                                                 batched=lambda: xp.matmul(H[None, ...], coef) + icpt[:, None, :])):
                pr_eta[j][i][0].append(h_)
                pr_eta[j][i][1].append(g_)
            Hc = xp.matmul(Hz, coef[0, ...])  # eta = 0
            for i, (h_, g_) in enumerate(_levels(lambda lv: sc0 + lv * Hc, lams, yd, ycd, covd)):
                pr_lam[j][i][0].append(h_)
                pr_lam[j][i][1].append(g_)

    def cat(parts: list, axis: int = 0) -> np.ndarray:
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)

    y, marg, covered, b_s, b_w, tol = (cat(keep[k_]) for k_ in ("y", "marg", "covered", "b_s", "b_w", "tol"))
    rows: list[dict] = []
    cov_frac = float(covered.mean())

    # ---- matched filter, clean: the margin bounds (M3), (M4), Welch, frame gain, readout variance (M5) ----
    for name, bnd in (("margin_sample", b_s), ("margin_worst", b_w)):
        hold = float(np.mean(marg[covered] >= bnd[covered] - tol[covered])) if covered.any() else float("nan")
        inf_ = float(np.mean(bnd[covered] > 0)) if covered.any() else float("nan")
        qb, qm = _quantiles(bnd), _quantiles(marg)
        for qn in _QNAMES:
            rows.append({**base, **_bound_row(name, qn, qb[f"margin_{qn}"], qm[f"margin_{qn}"],
                                              holds=hold, informative=inf_, covered=cov_frac)})
    rows.append({**base, **_bound_row("welch", "mu", welch, mu, holds=float(mu >= welch - 1e-12))})
    th_var = T.readout_noise_variance(W)[:n_rep]  # (M5) at lam = 1: (G^2)_jj
    gain = float(np.mean(th_var))
    rows.append({**base, **_bound_row("frame_gain", "mean_j", n_rep / m, gain, holds=float(gain >= n_rep / m - 1e-9))})
    # (M5) readout noise variance: empirical Var[E_j] vs (G^2)_jj (lam cancels; z is shared by all lam)
    ratio = float(np.mean(moments.var() / th_var))
    # 4 SE of one variance ratio (the mean over j has a smaller SE: a conservative tolerance)
    rows.append({**base, **_bound_row("readout_var", "mean_j", 1.0, ratio, kind="identity",
                                      holds=float(abs(ratio - 1.0) <= 4 * math.sqrt(2.0 / (N - 1))))})

    # ---- matched filter under input noise: accuracy, margins, Fisher, error bounds (M6) ------------
    hits = np.stack([cat(h) for h, _ in mf])  # (L, N)
    acc = hits.mean(axis=1)
    err_cov = (~hits[:, covered]).mean(axis=1) if covered.any() else np.full(len(lams), np.nan)
    marg_l = [cat(g) for _, g in mf]
    fisher = _fisher_from_sums(fsums, lams)
    if theory_ok:
        fisher_th = T.fisher_separation_code(G, n_rep, S, lams, amplitude_max=hi)
        if nu <= ORTHONORMAL_TOL:  # G = I on the represented features (mono up to a rotation): exact (M7)
            acc_th = T.orthogonal_accuracy(n, n_rep, S, lams / hi)
        else:
            acc_th = T.meanfield_accuracy(n, n_rep, S, lams / hi, nu)
        fisher_rand = (T.expected_fisher_separation(n, n_rep, m, S, lams / hi) if code == "random"
                       else np.full(len(lams), np.nan))
    else:
        fisher_th = acc_th = fisher_rand = np.full(len(lams), np.nan)
    for i, lv in enumerate(lams):
        rows.append({**base, "record": "readout", "readout": "matched_filter", "noise": "input", "level": float(lv),
                     "acc": float(acc[i]), "covered": cov_frac, **_quantiles(marg_l[i]),
                     "fisher": float(fisher[i]), "fisher_exact": float(fisher_th[i]),
                     "fisher_random": float(fisher_rand[i]), "acc_theory": float(acc_th[i])})
    if covered.any() and pos.any():
        low, up = cat(keep["low"], 1), cat(keep["up"], 1)
        n_cov = int(covered.sum())
        for j, lv in enumerate(lams[pos]):
            e_emp = float(err_cov[pos][j])
            u, l_ = float(np.mean(up[j])), float(np.mean(low[j]))
            # the bounds are on the expected error of the covered samples; the empirical rate has variance
            # <= e (1 - e) / N: a one-sided 4-SE test with e replaced by the bound (upper) or the rate (lower)
            se_u = math.sqrt(max(u * (1 - u), 1.0 / n_cov) / n_cov)
            se_l = math.sqrt(max(e_emp * (1 - e_emp), 1.0 / n_cov) / n_cov)
            rows.append({**base, **_bound_row("err_union", "mean", u, e_emp, level=float(lv), kind="upper_bound",
                                              holds=float(e_emp <= u + 4 * se_u),
                                              informative=float(np.mean(up[j] < 1)), covered=cov_frac)})
            rows.append({**base, **_bound_row("err_pair", "mean", l_, e_emp, level=float(lv),
                                              holds=float(e_emp >= l_ - 4 * se_l),
                                              informative=float(np.mean(low[j] > 0)), covered=cov_frac)})
    if theory_ok:
        exact = nu <= ORTHONORMAL_TOL
        for j, lv in enumerate(lams):
            rows.append({**base, **_bound_row("acc_theory", "mean", float(acc_th[j]), float(acc[j]),
                                              level=float(lv), kind="identity" if exact else "approximation")})
            rows.append({**base, **_bound_row("fisher_exact", "pooled", float(fisher_th[j]), float(fisher[j]),
                                              level=float(lv), kind="identity")})

    # ---- least-squares probes on h: label noise (batched) and input noise ------------------------------
    for j, nt in enumerate(n_trains):
        for i, ev in enumerate(eta_all):
            if ev in etas:
                h_, g_ = pr_eta[j][i]
                rows.append({**base, "record": "readout", "readout": "probe", "noise": _label_noise_name(cell),
                             "level": float(ev),
                             "n_train": nt, "acc": float(cat(h_).mean()), "covered": cov_frac,
                             **_quantiles(cat(g_))})
        for i, lv in enumerate(lams):
            h_, g_ = pr_lam[j][i]
            rows.append({**base, "record": "readout", "readout": "probe", "noise": "input", "level": float(lv),
                         "n_train": nt, "acc": float(cat(h_).mean()), "covered": cov_frac, **_quantiles(cat(g_))})
    return rows


def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One cell (code x ratio x sparsity): ``reps`` replicates, rows as described in the module doc.
    Empty for (mono, ratio != 1) and (antipodal, ratio > 2)."""
    n_rep = n_rep_of(cell["ratio"], cell["m"])
    if not cell_is_valid(cell["code"], n_rep, cell["m"]):
        return []
    with B.one_blas_thread():
        return _cell(cell, seed, n_rep)


def _cell(cell: dict, seed: int, n_rep: int) -> list[dict]:
    from theory import margins as T

    rows: list[dict] = []
    for rep in range(cell["reps"]):
        W = _cell_code(cell, seed, rep, n_rep)
        if represented_count(W) < 2:  # a trained model that kept fewer than two features: no margins
            return []
        rows += _one_rep(cell, seed, rep, W)
    lo, hi = cell["amplitude"]
    if cell["code"] != "mono" and lo == 0.0:
        # (M11) balance noise of this code vs mono (mean-field; random codes: nu in expectation)
        n, m = cell["n_features"], cell["m"]
        if cell["code"] == "random":
            nu = (n_rep - 1) / m  # in expectation over random codes
        else:  # frame, antipodal and trained codes do not depend on the replicate: the last W
            n_rep = represented_count(W)
            nu = T.interference_nu(W.T @ W, n_rep)
        if nu <= ORTHONORMAL_TOL:  # orthonormal (frame / antipodal at ratio 1): the same accuracy as mono
            return rows
        bal = T.balance_noise(n, m, n_rep, cell["sparsity"], nu, lam_max=max(3.0, 3.0 * max(cell["input_noise"]) / hi),
                              n_grid=31)
        rows.append({"record": "theory", "n_rep": n_rep, "nu": nu, "lam_star": bal.lam_star * hi,
                     "lam_lo": bal.bracket[0] * hi, "lam_hi": bal.bracket[1] * hi,
                     "f_lo": bal.f_bracket[0], "f_hi": bal.f_bracket[1], "sign_at_zero": bal.sign_at_zero})
    return rows
