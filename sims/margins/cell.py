"""The main job's cell: one (code, ratio, sparsity) cell of ``python -m sims.margin_sweep``.

The code of the cell (:func:`build_code`), then per replicate the matched filter and the least-squares
probes under input and label noise, the margin / separation / accuracy measures and the bounds of
``theory.margins`` beside them. The rows and their columns are described in :mod:`sims.margins.config`.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from sims.engine import backend as B
from sims.margins.config import ORTHONORMAL_TOL, QUANTILES, cell_is_valid, n_rep_of

__all__ = ["build_code", "represented_count", "cell_fn"]

_QNAMES = tuple(f"q{int(round(100 * q)):02d}" for q in QUANTILES)



def build_code(code: str, n: int, m: int, n_rep: int, seed: Any, *, frame_iter: int = 300,
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


def _pooled_fisher(S0: np.ndarray, E: np.ndarray, y: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Empirical pooled Fisher separation (M9) of the matched-filter differences ``s_a - s_b`` between
    argmax classes ``a != b`` of the represented features, for scores ``S0 + lam E`` at every ``lam``.

    Unbiased class variances (ddof 1) and bias-corrected squared mean gaps
    (``Delta^2 - V_a/n_a - V_b/n_b``), so numerator and denominator are unbiased pair averages."""
    r = S0.shape[1]
    sel = y < r
    S0, E, yy = S0[sel], E[sel], y[sel]
    P = np.zeros((len(yy), r))
    P[np.arange(len(yy)), yy] = 1.0
    cnt = P.sum(axis=0)
    ok = cnt >= 2
    safe = np.where(ok, cnt, 1.0)
    t0, tE = S0[np.arange(len(yy)), yy], E[np.arange(len(yy)), yy]  # own-class score
    sums = {k: P.T @ v for k, v in (("s0", S0), ("e", E), ("s0s0", S0 * S0), ("s0e", S0 * E), ("ee", E * E),
                                     ("t0s0", t0[:, None] * S0), ("t0e", t0[:, None] * E + tE[:, None] * S0),
                                     ("tee", tE[:, None] * E))}
    out = np.empty(len(lams))
    off = ~np.eye(r, dtype=bool) & ok[:, None] & ok[None, :]
    if not off.any():
        return np.full(len(lams), np.nan)
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


@functools.lru_cache(maxsize=16)
def _data(seed: int, rep: int, n: int, S: float, lo: float, hi: float, n_test: int, n_train: int) -> tuple:
    """Test features / labels, training features / labels and the N(0, 1) input-noise draws of one
    replicate (read-only arrays). The seed depends on the sparsity only, so every code and ratio at a
    sparsity reads the same data; the cache spares regenerating it for each of them in one process."""
    from sims.engine.generators import FeatureSpec, add_input_noise, make_labels, sample_features

    spec = FeatureSpec(n, sparsity=S, amplitude=(lo, hi))
    ss = B.seed_sequence(seed, "rep", rep)
    x = B.to_numpy(sample_features(spec, n_test, B.seed_sequence(ss, "test")))  # (N, n)
    y = B.to_numpy(make_labels(x, "argmax", B.seed_sequence(ss, "test")))  # (N,)
    x_tr = B.to_numpy(sample_features(spec, n_train, B.seed_sequence(ss, "train")))  # (n_train, n)
    y_tr = B.to_numpy(make_labels(x_tr, "argmax", B.seed_sequence(ss, "train")))
    z = B.to_numpy(add_input_noise(np.zeros_like(x), 1.0, B.seed_sequence(ss, "noise")))  # (N, n) ~ N(0, 1)
    out = (x, y, x_tr, y_tr, z)
    for a in out:
        a.flags.writeable = False
    return out


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


def _one_rep(cell: dict, seed: int, rep: int, W: np.ndarray) -> list[dict]:
    from sims.engine.generators import flip_labels
    from sims.engine.metrics import signed_margins
    from sims.engine.probes import fit_linear
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
    ss = B.seed_sequence(seed, "rep", rep)
    x, y, x_tr, y_tr, z = _data(seed, rep, n, S, lo, hi, cell["n_test"], max(n_trains))
    N = len(y)
    rows: list[dict] = []

    # ---- matched filter, clean: margins and the margin bounds (M3), (M4) ---------------------------
    S0 = x @ G[:, :n_rep]  # (N, r) clean scores
    E = z @ G[:, :n_rep]  # (N, r) noise direction: scores at lam are S0 + lam E
    marg, covered = T.matched_filter_margins(x, y, G, n_rep)  # NaN where not covered
    cov_frac = float(covered.mean())
    yc = np.where(covered, y, 0)
    st = T.sample_structure(x, y, n_rep)
    b_s = T.margin_bound_sample(x, y, mu, n_rep)
    b_w = np.full(N, np.nan)
    if covered.any():
        b_w[covered] = T.margin_bound_worst(mu, np.maximum(st["k"][covered], 1),
                                            np.clip(st["gap"][covered], 0.0, hi), (lo, hi))
    tol = 1e-9 * (1.0 + np.abs(S0).max(axis=1))
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
    emp_var = E.var(axis=0, ddof=1)
    ratio = float(np.mean(emp_var / th_var))
    # 4 SE of one variance ratio (the mean over j has a smaller SE: a conservative tolerance)
    rows.append({**base, **_bound_row("readout_var", "mean_j", 1.0, ratio, kind="identity",
                                      holds=float(abs(ratio - 1.0) <= 4 * math.sqrt(2.0 / (N - 1))))})

    # ---- matched filter under input noise: accuracy, margins, Fisher, error bounds (M6) ------------
    Sl = S0[None] + lams[:, None, None] * E[None]  # (L, N, r)
    pred = Sl.argmax(axis=-1)
    acc = (pred == y[None]).mean(axis=1)
    err_cov = (pred[:, covered] != y[None, covered]).mean(axis=1) if covered.any() else np.full(len(lams), np.nan)
    marg_l = np.where(covered[None], signed_margins(Sl, yc), np.nan)
    fisher = _pooled_fisher(S0, E, y, lams)
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
    pos = lams > 0
    if covered.any() and pos.any():
        low, up = T.error_bounds(x[covered], y[covered], W, n_rep, lams[pos])
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
    H_tr = x_tr @ W.T  # (n_train_max, m)
    H = x @ W.T  # (N, m)
    Hz = z @ W.T  # (N, m): h-noise direction
    eta_all = np.unique(np.concatenate([[0.0], etas]))
    for nt in n_trains:
        y_sets = B.to_numpy(flip_labels(y_tr[:nt], n, eta_all[:, None], B.seed_sequence(ss, "flip")))  # (L, nt)
        probe = fit_linear(H_tr[:nt], y_sets, n, label_sets=True)
        coef, icpt = B.to_numpy(probe.coef), B.to_numpy(probe.intercept)  # (L, m, n), (L, n)
        sc = H[None] @ coef + icpt[:, None, :]  # (L, N, n)
        acc_eta = (sc.argmax(axis=-1) == y[None]).mean(axis=1)
        marg_eta = np.where(covered[None], signed_margins(sc, yc), np.nan)
        for i, ev in enumerate(eta_all):
            if ev in etas:
                rows.append({**base, "record": "readout", "readout": "probe", "noise": "label", "level": float(ev),
                             "n_train": nt, "acc": float(acc_eta[i]), "covered": cov_frac, **_quantiles(marg_eta[i])})
        c0 = coef[0]  # eta = 0
        sc_l = sc[0][None] + lams[:, None, None] * (Hz @ c0)[None]  # (L, N, n)
        acc_l = (sc_l.argmax(axis=-1) == y[None]).mean(axis=1)
        marg_p = np.where(covered[None], signed_margins(sc_l, yc), np.nan)
        for i, lv in enumerate(lams):
            rows.append({**base, "record": "readout", "readout": "probe", "noise": "input", "level": float(lv),
                         "n_train": nt, "acc": float(acc_l[i]), "covered": cov_frac, **_quantiles(marg_p[i])})
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
