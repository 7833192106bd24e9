"""Finite-sample theory of a least-squares probe on a code under label and input noise, and the predicted
boundary where a monosemantic code overtakes a superposed one (paper §4.2 / Fig. 5).

Setting (``sims.robustness.scenarios``): features ``x`` spike-and-uniform, label ``y = argmax_i x_i`` (``C = n``
classes), a fixed feature map ``h = φ(x)`` (the code's hidden layer ``W x``, or the toy model's output),
``h̃ = (h, 1)``, and the probe ``B̂`` = least squares of one-hot targets on ``h̃`` from ``n`` training
samples whose labels went through a transition matrix ``T`` (``T[c, c'] = P(ỹ = c' | y = c)``).
Accuracy is measured against clean test labels. Numbers (R1)-(R7) are cited by the claims, the tests
and ``theory/derive/robustness.py`` (which derives and checks (R1), (R3), (R5) symbolically):

(R1) Population probe. ``E[ỹ | x] = Tᵀ e_y``, so ``B*(T) = B₀ T`` and the population scores are
     ``s* = Tᵀ s₀``, ``s₀ = B₀ᵀ h̃`` the clean ones. Symmetric noise at rate ``η``:
     ``T = a 11ᵀ + κ I``, ``a = η/(C-1)``, ``κ = 1 - ηC/(C-1)``: ``s* = κ s₀ + a`` — the argmax (and so
     the accuracy) of the population probe does not depend on ``η`` while ``κ > 0`` (``η < (C-1)/C``).
     Pair noise (``c -> c+1`` w.p. ``η``): ``s*_c = (1-η) s₀_c + η s₀_{c-1}``.
(R2) First-order (delta-method) fluctuation: ``B̂ - B* ≈ Σ̃⁻¹ (1/n) Σ_i h̃_i r_iᵀ`` with
     ``Σ̃ = E[h̃ h̃ᵀ]`` and the population residual ``r = ỹ - B*ᵀ h̃``; at a test point the score error is
     ``δs = (1/n) Σ_i g_i r_i``, ``g_i = h̃ᵀ Σ̃⁻¹ h̃_i`` (a mean of ``n`` i.i.d. centred terms).
(R2') Its O(1/n) mean: the LS probe of a misspecified (non-linear) regression is biased,
     ``E[B̂] - B* ≈ -(1/n) Σ̃⁻¹ E[h̃ q rᵀ]``, ``q = h̃ᵀ Σ̃⁻¹ h̃``; so ``E[δs] ≈ -(1/n) E[q g d]`` (``d = E[r | x]``).
(R3) Its variance. With ``p = T[y]`` (row), ``e = e_y - B₀ᵀ h̃`` (clean residual), ``d = Tᵀ e`` and
     ``v_k = E[g² 1{y=k}]``: ``n Var δs_c = Σ_k v_k T_kc (1 - T_kc) + E[g² d_c²]``
     (symmetric: ``E[g² d_c²] = κ² E[g² e_c²]`` since ``Σ_c e_c = 0``).
(R4) Its correlation (used only to correlate the classes): ``n Cov δs ≈ diag(Tᵀ v) - Tᵀ diag(v) T +
     Tᵀ (Σ_k v_k R_k) T``, ``R_k = E[e eᵀ | y = k]`` (class-conditional approximation of ``E[g² e eᵀ]``).
(R5) Its third cumulant: ``n² κ₃(δs_c) = E[g³ E(r_c³ | x)]``, ``E(r_c³ | x) = μ₃(p_c) + 3 d_c p_c (1 - p_c)
     + d_c³``, ``μ₃(p) = p (1 - p)(1 - 2p)`` (pair noise: the ``μ₃`` term only). The skewness
     ``γ = κ₃ / Var^{3/2}`` is ``O(n^{-1/2})`` but large at small ``n`` and high ``η`` (a class receives few
     flipped labels, each with a heavy-tailed leverage ``g``): it is what makes small-sample probes
     worse than the Gaussian leading order predicts.
(R6) Test-time input noise ``ε ~ N(0, λ² I_n)`` on ``x`` with the hidden readout adds ``λ W ε`` to ``h``:
     Gaussian score noise ``λ B̂_hᵀ W ε`` of covariance ``λ² (Tᵀ M T + E[Δ_hᵀ W Wᵀ Δ_h])``,
     ``M = B_hᵀ W Wᵀ B_h`` (``B_h``: the rows of ``B₀`` on ``h``), where the fitted probe's error inflates
     the noise gain: ``E[Δ_hᵀ W Wᵀ Δ_h] = (1/n) E[a r rᵀ]``, ``a = ‖Wᵀ u_h‖²`` (diagonal exact as in (R3),
     off-diagonal as in (R4)), and so does its bias (R2'): ``+ B*_hᵀ W Wᵀ E[Δ_h] + transpose``, with
     ``E[Δ_h]ᵀ W Wᵀ B*_h = -(1/n) Tᵀ E[q e βᵀ] T``, ``β = B₀_hᵀ W Wᵀ u_h``. Uniform noise of the same variance: the same covariance (its score noise, a sum of ``n``
     uniforms, is treated as Gaussian). Noise at training time changes the population probe: the
     summary is recomputed on noisy training codes (``train_noise``).
(R7) Accuracy model: ``acc(n, T, λ) = E_test P(argmax_c [s*_c + sd_c ζ_c + λ ξ_c] = y)`` with
     ``sd_c² = Var δs_c`` (R3), ``ζ`` a Gaussian vector with the correlation of (R4), Cornish–Fisher
     corrected per class, ``ζ_c = z_c + (γ_c / 6)(z_c² - 1)`` (``order=2``; ``order=1`` is the plain
     Gaussian leading-order model), and ``ξ ~ N(0, (R6) covariance)`` independent of ``ζ`` (the test
     noise is independent of the training sample). Expectations over test points and ``z`` are Monte Carlo
     (``n_test`` points x ``draws``; common random numbers across all arguments and codes), with the
     population accuracy as control variate: ``acc = acc_pop(n_ref points) + mean_t,z [hit(n) - hit_pop]``.
(R7') Joint version (:func:`predicted_accuracy_draws`): draw the probe error ``Δ`` of all classes at once
     from its asymptotic Gaussian law (multipliers on the moment sample: exactly the sandwich covariance),
     add the bias (R2') and score every test point with ``B* + Δ`` and the exact Gaussian test noise
     ``λ (B* + Δ)_hᵀ W ε``. Under input noise the same ``Δ`` inflates both the clean-score error and the
     noise gain (a scale mixture over fits) — (R7) averages that away and is too optimistic at small ``n``
     or small ``m``; (R7') is used for input noise, (R7) with its skewness term for label noise.

Population moments (``Σ̃``, ``B₀``, ``v``, ...) are estimated from ``n_pop`` samples (so "theory" here means
a model evaluated with simulated population moments, never a simulation of the finite-sample fit).
The boundary (:func:`crossing`, :func:`predicted_boundary`): the first parameter value where
``acc_mono - acc_poly`` changes sign, by linear interpolation (in ``log`` for sample sizes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sims.engine.stats import crossing
from sims.engine.validation import (
    UNIT,
    UNIT_OPEN_RIGHT,
    Interval,
    check_array,
    check_number,
    check_option,
    check_values,
)

__all__ = [
    "KINDS",
    "READOUTS",
    "PopulationModel",
    "transition",
    "population_model",
    "predicted_accuracy",
    "predicted_accuracy_draws",
    "crossing",
    "Boundary",
    "predicted_boundary",
    "kappa",
    "bernoulli_mu3",
]

KINDS = ("symmetric", "pair")
READOUTS = ("hidden", "output")
_CHUNK = 256  # test points per block of the moment computation


# --------------------------------------------------------------------------------------------- (R1)
def kappa(eta: Any, n_classes: int) -> np.ndarray:
    """(R1) ``κ = 1 - η C / (C - 1)``: the factor by which symmetric noise shrinks the population scores."""
    C = check_number("n_classes", n_classes, Interval(2, None), integer=True)
    e = check_values("eta", eta, UNIT)
    return 1.0 - e * C / (C - 1)


def bernoulli_mu3(p: Any) -> np.ndarray:
    """(R5) third central moment of a Bernoulli(p) indicator, ``p (1 - p)(1 - 2p)``."""
    p = np.asarray(p, dtype=np.float64)
    return p * (1.0 - p) * (1.0 - 2.0 * p)


def transition(kind: str, eta: float, n_classes: int) -> np.ndarray:
    """(R1) The label transition matrix ``T (C, C)``: ``"symmetric"`` (to a uniformly chosen other class
    w.p. ``eta``) or ``"pair"`` (``c -> c+1 mod C`` w.p. ``eta``), as ``sims.engine.generators.flip_labels``."""
    check_option("kind", kind, KINDS)
    eta = check_number("eta", eta, UNIT)
    C = check_number("n_classes", n_classes, Interval(2, None), integer=True)
    if kind == "symmetric":
        return np.full((C, C), eta / (C - 1)) + (1.0 - eta - eta / (C - 1)) * np.eye(C)
    T = (1.0 - eta) * np.eye(C)
    T[np.arange(C), (np.arange(C) + 1) % C] += eta
    return T


# --------------------------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class PopulationModel:
    """Population summary of one feature map for the LS probe (host arrays; ``t`` test points).

    s0 (t, C) clean population scores; y (t,) clean test labels; q (t,) ``h̃ᵀΣ̃⁻¹h̃``; per test point and
    class: v = E[g² 1{y=c}], w = E[g² e_c²], wp = E[g² e_c e_{c-1}], v3 = E[g³ 1{y=c}], w3 = E[g³ e_c³],
    x3 = E[g³ e_c], xy3 = E[g³ e_c 1{y=c}]; R (C, C, C): R_k = E[e eᵀ | y=k]; M (C, C): ``B_hᵀ W Wᵀ B_h``
    (hidden readout; None otherwise); Ma (3, C): ``E[a 1{y=c}], E[a e_c²], E[a e_c e_{c-1}]`` with
    ``a = ‖Wᵀ u‖²`` (the finite-sample part of (R6)); Qb (C, C): ``E[q e_k β_l]`` (the bias part of (R6));
    bias (t, C): ``E[q g e_c]`` (the O(1/n) score bias (R2')); s0_ref (r, C) float32 / y_ref (r,): clean scores and labels of
    ``n_ref`` reference test points (population accuracy); meta: how it was computed; draws_data: the
    moment sample (``u_i = Σ̃⁻¹ h̃_i``, residuals, labels), the test codes and the noise gain ``A`` used by
    :func:`predicted_accuracy_draws`.
    """

    s0: np.ndarray
    y: np.ndarray
    q: np.ndarray
    v: np.ndarray
    w: np.ndarray
    wp: np.ndarray
    v3: np.ndarray
    w3: np.ndarray
    x3: np.ndarray
    xy3: np.ndarray
    R: np.ndarray
    M: np.ndarray | None
    Ma: np.ndarray | None
    Qb: np.ndarray | None
    bias: np.ndarray
    s0_ref: np.ndarray
    y_ref: np.ndarray
    meta: dict
    draws_data: dict | None = None

    @property
    def n_classes(self) -> int:
        return int(self.s0.shape[1])

    @property
    def d1(self) -> int:
        """Number of probe coefficients per class (features + intercept)."""
        return int(self.meta["d1"])

    def population_accuracy(self, T: np.ndarray | None = None) -> float:
        """Clean-test accuracy of the population probe under transition ``T`` (default: none) on the
        ``n_ref`` reference points (symmetric noise with ``η < (C-1)/C`` does not change it, (R1))."""
        s = self.s0_ref if T is None else self.s0_ref @ T.astype(np.float32)
        return float(np.mean(np.argmax(s, axis=1) == self.y_ref))


def population_model(
    W: Any,
    sparsity: float,
    *,
    b: Any = None,
    readout: str = "hidden",
    amplitude: tuple[float, float] = (0.0, 1.0),
    n_pop: int = 100000,
    n_moments: int = 10000,
    n_test: int = 4000,
    n_ref: int = 100000,
    seed: int = 0,
    train_noise: float = 0.0,
    noise_kind: str = "gaussian",
    noise_on: str = "x",
) -> PopulationModel:
    """Population moments (R1)-(R6) of the code ``W (m, n)`` on spike-and-uniform data of ``sparsity``.

    ``n_pop`` samples estimate ``Σ̃``, ``B₀`` and ``R_k`` (``n_pop`` must be much larger than the training
    sizes studied: ``B₀`` stands for the population probe); their first ``n_moments`` rows estimate the
    per-test-point moments of (R3)-(R5) (second-order quantities); ``n_test`` independent test points
    carry them; ``n_ref`` further clean test points give the population accuracy (the control variate
    of :func:`predicted_accuracy`). ``train_noise`` > 0: the training codes read ``x + train_noise z`` (``z`` of
    ``noise_kind``), i.e. the population probe of a probe trained on noisy inputs. ``noise_on``: where
    test-time input noise enters, ``"x"`` (the planted features, as ``sims.robustness.scenarios``: gain ``W Wᵀ``)
    or ``"h"`` (the code itself: gain ``I``).
    """
    from sims.engine import backend as B
    from sims.engine.generators import FeatureSpec, add_input_noise, make_labels, sample_features
    from sims.engine.codes import code_features as features

    W = np.asarray(B.to_numpy(W), dtype=np.float64)
    check_array("W", W, ndim=2)
    m, n = W.shape
    if n < 2:
        raise ValueError(f"W.shape == {W.shape}, must have at least 2 features (columns)")
    S = check_number("sparsity", sparsity, UNIT_OPEN_RIGHT)
    check_option("readout", readout, READOUTS)
    check_option("noise_on", noise_on, ("x", "h"))
    n_pop = check_number("n_pop", n_pop, Interval(100, 10**8), integer=True)
    n_mom = check_number("n_moments", n_moments, Interval(100, n_pop), integer=True)
    n_test = check_number("n_test", n_test, Interval(10, 10**7), integer=True)
    n_ref = check_number("n_ref", n_ref, Interval(10, 10**8), integer=True)
    lam_tr = check_number("train_noise", train_noise, Interval(0.0, 1e6, "[]"))
    if b is not None:
        b = np.asarray(B.to_numpy(b), dtype=np.float64)
        check_array("b", b, shape=(n,))
    spec = FeatureSpec(n, sparsity=S, amplitude=amplitude)
    ss = B.seed_sequence(seed, "robustness-theory")
    x = np.asarray(B.to_numpy(sample_features(spec, n_pop, B.seed_sequence(ss, "pop"))))
    y = np.asarray(B.to_numpy(make_labels(x, "argmax", B.seed_sequence(ss, "pop"))))
    xin = x
    if lam_tr > 0:
        z = np.asarray(B.to_numpy(add_input_noise(np.zeros_like(x), 1.0, B.seed_sequence(ss, "noise"), kind=noise_kind)))
        xin = x + lam_tr * z
    Ht = np.hstack([features(W, xin, readout=readout, b=b), np.ones((n_pop, 1))])  # (N, d+1)
    C = n
    Sig = Ht.T @ Ht / n_pop
    Sinv = np.linalg.pinv(Sig, hermitian=True)
    Y = np.zeros((n_pop, C))
    Y[np.arange(n_pop), y] = 1.0
    B0 = Sinv @ (Ht.T @ Y) / n_pop  # (d+1, C) clean population probe
    e = Y - Ht @ B0  # (N, C) clean residuals
    R = np.zeros((C, C, C))
    for k in range(C):
        sel = y == k
        if sel.any():
            R[k] = e[sel].T @ e[sel] / sel.sum()
    U = Ht[:n_mom] @ Sinv  # g = h̃_t · u_i
    Ym, em = Y[:n_mom], e[:n_mom]
    e_prev = np.roll(em, 1, axis=1)  # column c holds e_{c-1}
    bases2 = np.hstack([Ym, em * em, em * e_prev])
    bases3 = np.hstack([Ym, em ** 3, em, em * Ym])

    xt = np.asarray(B.to_numpy(sample_features(spec, n_test, B.seed_sequence(ss, "test"))))
    yt = np.asarray(B.to_numpy(make_labels(xt, "argmax", B.seed_sequence(ss, "test"))))
    Htt = np.hstack([features(W, xt, readout=readout, b=b), np.ones((n_test, 1))])
    qm = np.sum(U * Ht[:n_mom], axis=1)  # leverages q_i = h̃_iᵀ Σ̃⁻¹ h̃_i
    qe = em * qm[:, None]  # for the O(1/n) bias of the LS probe, (R2')
    P1 = np.empty((n_test, C))
    P2 = np.empty((n_test, 3 * C))
    P3 = np.empty((n_test, 4 * C))
    for lo in range(0, n_test, _CHUNK):
        G = Htt[lo:lo + _CHUNK] @ U.T  # (chunk, N)
        P1[lo:lo + _CHUNK] = G @ qe / n_mom
        G2 = G * G
        P2[lo:lo + _CHUNK] = G2 @ bases2 / n_mom
        G2 *= G
        P3[lo:lo + _CHUNK] = G2 @ bases3 / n_mom
    q = np.einsum("ta,ab,tb->t", Htt, Sinv, Htt)
    xr = np.asarray(B.to_numpy(sample_features(spec, n_ref, B.seed_sequence(ss, "reference"))))
    yr = np.asarray(B.to_numpy(make_labels(xr, "argmax", B.seed_sequence(ss, "reference"))))
    s0r = (np.hstack([features(W, xr, readout=readout, b=b), np.ones((n_ref, 1))]) @ B0).astype(np.float32)
    M = Ma = Qb = A = None
    if readout == "hidden":
        Bh = B0[:m]  # (m, C)
        A = W @ W.T if noise_on == "x" else np.eye(m)  # gain of the input noise in h
        M = Bh.T @ A @ Bh
        # (R6): a_i = u_iᵀ A u_i (u_i restricted to h): E[Δᵀ A Δ] = (1/n) E[a r rᵀ]
        Uh = U[:, :m]
        a = np.sum((Uh @ A) * Uh, axis=1)  # (n_moments,)
        Ma = np.stack([a @ Ym, a @ (em * em), a @ (em * e_prev)]) / n_mom  # (3, C): va, wa, wpa
        beta = Uh @ (A @ Bh)  # (n_moments, C): B0_hᵀ A u_h
        Qb = qe.T @ beta / n_mom  # (C, C): E[q e_k β_l]
    return PopulationModel(
        s0=Htt @ B0, y=yt, q=q, v=P2[:, :C], w=P2[:, C:2 * C], wp=P2[:, 2 * C:], v3=P3[:, :C],
        w3=P3[:, C:2 * C], x3=P3[:, 2 * C:3 * C], xy3=P3[:, 3 * C:], R=R, M=M, Ma=Ma, Qb=Qb, bias=P1,
        s0_ref=s0r, y_ref=yr,
        draws_data={"U": U, "e": em, "y": y[:n_mom], "Htt": Htt, "A": A, "m": m,
                    "Bh": B0[:m]},
        meta={"sparsity": S, "readout": readout, "n_pop": n_pop, "n_moments": n_mom, "n_test": n_test, "seed": seed,
              "train_noise": lam_tr, "noise_kind": noise_kind, "noise_on": noise_on, "m": m, "n": n,
              "d1": int(Ht.shape[1])},
    )


# --------------------------------------------------------------------------------------------- (R3)-(R7)
def _second(v: np.ndarray, w: np.ndarray, wp: np.ndarray, R: np.ndarray, T: np.ndarray, kind: str,
            eta: float) -> tuple[np.ndarray, np.ndarray]:
    """(R3) exact variances and (R4) consistent covariances from the class moments ``v (.., C)`` =
    E[g² 1{y=c}], ``w`` = E[g² e_c²], ``wp`` = E[g² e_c e_{c-1}] (any leading axes)."""
    C = T.shape[0]
    var = v @ (T * (1.0 - T))  # Σ_k v_k T_kc (1 - T_kc)
    if kind == "symmetric":
        var = var + (1.0 - eta * C / (C - 1)) ** 2 * w
    else:  # d_c = (1 - η) e_c + η e_{c-1}
        var = var + (1 - eta) ** 2 * w + 2 * eta * (1 - eta) * wp + eta ** 2 * np.roll(w, 1, axis=-1)
    # Σ_k v_k (Tᵀ R_k T - T_k T_kᵀ) + diag(Tᵀ v), as one GEMM over the per-class matrices
    per_class = np.matmul(np.matmul(T.T[None], R), T) - T[:, :, None] * T[:, None, :]  # (C, C, C)
    cov = (v @ per_class.reshape(C, C * C)).reshape(v.shape[:-1] + (C, C))
    idx = np.arange(C)
    cov[..., idx, idx] += v @ T
    return np.maximum(var, 0.0), cov


def _moments(model: PopulationModel, kind: str, eta: float) -> tuple[np.ndarray, ...]:
    """Per test point: scores s* (t, C), n·variance (t, C), n²·third cumulant (t, C) and the consistent
    n·covariance (t, C, C) of (R4), for one transition matrix."""
    C = model.n_classes
    T = transition(kind, eta, C)
    sig = model.s0 @ T  # (R1)
    var, cov = _second(model.v, model.w, model.wp, model.R, T, kind, eta)
    k3 = model.v3 @ bernoulli_mu3(T)
    if kind == "symmetric":
        kap = 1.0 - eta * C / (C - 1)
        a = eta / (C - 1)
        # 3 d_c p_c (1 - p_c) with d = κ e and p_c(1 - p_c) = a(1 - a) (y != c) or η(1 - η) (y = c)
        k3 = k3 + 3.0 * kap * (a * (1 - a) * (model.x3 - model.xy3) + eta * (1 - eta) * model.xy3)
        k3 = k3 + kap ** 3 * model.w3
    return sig, var, k3, cov


def _input_noise_cov(model: PopulationModel, T: np.ndarray, kind: str, eta: float, inv_n: float) -> np.ndarray:
    """(R6) score covariance per unit input-noise variance: ``Tᵀ M T + E[Δᵀ W Wᵀ Δ]`` (the second term,
    (1/n) E[a r rᵀ], with the exact diagonal and the class-conditional off-diagonal of (R4))."""
    out = T.T @ model.M @ T
    if inv_n > 0:
        var, cov = _second(model.Ma[0], model.Ma[1], model.Ma[2], model.R, T, kind, eta)
        d0 = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        sd = np.sqrt(var)
        out = out + inv_n * (cov / d0[:, None] / d0[None, :]) * sd[:, None] * sd[None, :]
        cross = T.T @ model.Qb @ T  # B*ᵀ A E[Δ] with E[Δ] = -(1/n) E[q u rᵀ] (R2')
        out = out - inv_n * (cross + cross.T)
        out = (out + out.T) / 2
        w, V = np.linalg.eigh(out)  # keep it a covariance (the bias term is not PSD by itself)
        out = (V * np.maximum(w, 0.0)) @ V.T
    return out


def _correlated(cov: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Standard normals ``(draws, t, C)`` with the correlation of ``cov (t, C, C)`` (``Z`` i.i.d.)."""
    C = cov.shape[-1]
    d0 = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 1e-300))
    corr = cov / d0[:, :, None] / d0[:, None, :] + 1e-9 * np.eye(C)
    L = np.linalg.cholesky(corr)  # (t, C, C)
    return np.matmul(L[None], Z[..., None])[..., 0]


def _shaped(out: np.ndarray, se: np.ndarray, shape: tuple, return_se: bool) -> Any:
    """The flat results in the broadcast ``shape`` (floats for a scalar shape), with the SEs if asked."""
    res, res_se = out.reshape(shape), se.reshape(shape)
    if res.ndim == 0:
        res, res_se = float(res), float(res_se)
    return (res, res_se) if return_se else res


def predicted_accuracy(
    model: PopulationModel,
    n_train: Any,
    label_noise: Any = 0.0,
    *,
    kind: str = "symmetric",
    input_noise: Any = 0.0,
    order: int = 2,
    draws: int = 4,
    seed: int = 0,
    bias: bool = True,
    return_se: bool = False,
) -> Any:
    """(R7) Expected clean-test accuracy of the LS probe trained on ``n_train`` samples with label noise
    ``label_noise`` of ``kind``, under test-time input noise ``input_noise`` (hidden readout only).

    Arguments broadcast; returns an array of the broadcast shape (a float for scalars). ``order``: 1 =
    Gaussian leading order, 2 = with the Cornish–Fisher skewness correction (R5). ``bias``: include the
    O(1/n) score bias (R2'). ``n_train = inf`` gives the population probe (plus input noise).
    ``return_se``: also return the Monte Carlo standard error of each value (reference points and
    test points x draws; the model error itself is not included).
    """
    check_option("kind", kind, KINDS)
    check_option("order", order, (1, 2))
    draws = check_number("draws", draws, Interval(1, 10**4), integer=True)
    nn = np.asarray(n_train, dtype=np.float64)
    if np.any(~(nn >= 2)):
        raise ValueError(f"n_train contains {float(nn[~(nn >= 2)].flat[0]):g}, must be >= 2 (or inf)")
    eta = check_values("label_noise", label_noise, UNIT)
    lam = check_values("input_noise", input_noise, Interval(0.0, 1e6, "[]"))
    if np.any(lam > 0) and model.M is None:
        raise ValueError("input_noise > 0 needs the hidden readout (the output readout is nonlinear)")
    shape = np.broadcast_shapes(nn.shape, eta.shape, lam.shape)
    nb, eb, lb = (np.broadcast_to(a, shape).ravel() for a in (nn, eta, lam))
    out = np.empty(nb.shape[0])
    se = np.empty(nb.shape[0])
    C = model.n_classes
    t = model.y.shape[0]
    g = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
    Z = g.standard_normal((draws, t, C))  # probe part
    Z2 = g.standard_normal((draws, t, C)) if np.any(lb > 0) else None  # input-noise part
    for e_val in np.unique(eb):
        sig, var, k3, cov = _moments(model, kind, float(e_val))
        T = transition(kind, float(e_val), C)
        ref = model.population_accuracy(T)  # control variate: E hit_pop on the reference points
        se_ref2 = ref * (1.0 - ref) / model.y_ref.shape[0]
        hit_pop_t = (np.argmax(sig, axis=1) == model.y).astype(np.float64)
        hit_pop = float(hit_pop_t.mean())
        zz0 = None  # correlated normals of the probe part (their correlation depends on eta only)
        for i in np.nonzero(eb == e_val)[0]:
            n_i, l_i = nb[i], lb[i]
            inv_n = 0.0 if math.isinf(n_i) else 1.0 / n_i
            if inv_n == 0.0 and l_i == 0.0:  # the population probe
                out[i], se[i] = ref, math.sqrt(se_ref2)
                continue
            scores = np.broadcast_to(sig, (draws, t, C))
            if inv_n > 0:
                if bias:
                    scores = scores - inv_n * (model.bias @ T)[None]  # (R2') E[δs] = -(1/n) E[q g d]
                if zz0 is None:
                    zz0 = _correlated(cov, Z)
                sd = np.sqrt(var * inv_n)
                zz = zz0
                if order == 2:
                    safe = np.where(sd > 0, sd, 1.0)
                    gam = np.where(sd > 0, k3 * inv_n * inv_n / safe ** 3, 0.0)
                    zz = zz + (gam / 6.0)[None] * (zz * zz - 1.0)
                scores = scores + sd[None] * zz
            if l_i > 0:  # (R6): Gaussian, the same covariance at every test point
                MT = _input_noise_cov(model, T, kind, float(e_val), inv_n)
                LM = np.linalg.cholesky(MT + 1e-12 * np.trace(MT) / C * np.eye(C) + 1e-300 * np.eye(C))
                scores = scores + l_i * (Z2 @ LM.T)
            hit_t = np.mean(np.argmax(scores, axis=-1) == model.y[None], axis=0)  # (t,) mean over draws
            out[i] = ref + float(hit_t.mean()) - hit_pop
            se[i] = math.sqrt(se_ref2 + float(np.var(hit_t - hit_pop_t, ddof=1)) / t)
    return _shaped(out, se, shape, return_se)


def predicted_accuracy_draws(
    model: PopulationModel,
    n_train: Any,
    label_noise: float = 0.0,
    *,
    kind: str = "symmetric",
    input_noise: Any = 0.0,
    draws: int = 32,
    seed: int = 0,
    return_se: bool = False,
) -> Any:
    """(R7') The accuracy model with the probe error drawn *jointly* from its asymptotic law instead of
    per test point: ``B̂ = B* + Δ - bias/n`` with ``Δ = Σ̃⁻¹ (n N)^{-1/2} Σ_i h̃_i r_iᵀ ξ_i`` (``ξ_i`` i.i.d.
    N(0, 1) multipliers over the ``N`` moment samples, ``r_i = onehot(ỹ_i) - p_i + d_i`` with a fresh
    noisy label ``ỹ_i ~ T[y_i]`` per draw), which has exactly the sandwich covariance (R2)/(R3) and the
    bias (R2'); then the exact Gaussian test-noise law given ``B̂``, ``λ B̂_hᵀ W ε``. It keeps what the
    per-point model (R7) averages away: the same ``Δ`` drives the clean-score error of every test point
    *and* the noise gain (a scale mixture over fits), which matters under input noise; it has no
    skewness correction (use :func:`predicted_accuracy` for label noise at small ``n``).

    ``n_train`` and ``input_noise`` broadcast (``label_noise`` is one value); returns their broadcast shape.
    """
    check_option("kind", kind, KINDS)
    draws = check_number("draws", draws, Interval(2, 10**4), integer=True)
    eta = check_number("label_noise", label_noise, UNIT)
    nn = np.asarray(n_train, dtype=np.float64)
    if np.any(~(nn >= 2)) or np.any(np.isinf(nn)):
        raise ValueError("n_train must be finite and >= 2 for predicted_accuracy_draws")
    lam = check_values("input_noise", input_noise, Interval(0.0, 1e6, "[]"))
    D = model.draws_data
    if D is None:
        raise ValueError("model has no moment sample (draws_data); rebuild it with population_model")
    if np.any(lam > 0) and D["A"] is None:
        raise ValueError("input_noise > 0 needs the hidden readout (the output readout is nonlinear)")
    shape = np.broadcast_shapes(nn.shape, lam.shape)
    nb, lb = (np.broadcast_to(a, shape).ravel() for a in (nn, lam))
    C = model.n_classes
    T = transition(kind, eta, C)
    U, e, y, Htt, m = D["U"], D["e"], D["y"], D["Htt"], D["m"]
    N, t = U.shape[0], Htt.shape[0]
    g = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD4A5]))
    d = e @ T  # d_i = Tᵀ e_i (rows)
    cum = np.cumsum(T, axis=1)
    sig = model.s0 @ T  # (t, C)
    bias = model.bias @ T  # (t, C): n E[δs] = -bias (R2')
    ref = model.population_accuracy(T)
    hit_pop = float(np.mean(np.argmax(sig, axis=1) == model.y))
    hits = np.zeros((nb.shape[0], draws))
    noisy = bool(np.any(lb > 0))
    if noisy:  # test noise of covariance A in h: scores get ε̃ᵀ B̂_h, ε̃ ~ N(0, A)
        A = D["A"]
        LA = np.linalg.cholesky(A + 1e-12 * np.trace(A) / m * np.eye(m)).T
        B_star = D["Bh"] @ T  # B*_h = B₀_h T
    for k in range(draws):
        yt = np.minimum((g.random(N)[:, None] >= cum[y]).sum(axis=1), C - 1)  # ỹ_i ~ T[y_i]
        r = -T[y] + d
        r[np.arange(N), yt] += 1.0
        G = (U * g.standard_normal(N)[:, None]).T @ r / math.sqrt(N)  # (d1, C): √n Δ
        dS = Htt @ G  # (t, C): √n δs
        if noisy:
            Lz = g.standard_normal((t, m)) @ LA
            noise_star = Lz @ B_star  # (t, C)
            noise_delta = Lz @ G[:m]
        for i, (n_i, l_i) in enumerate(zip(nb, lb)):
            sc = sig + dS / math.sqrt(n_i) - bias / n_i
            if l_i > 0:
                sc = sc + l_i * (noise_star + noise_delta / math.sqrt(n_i))
            hits[i, k] = np.mean(np.argmax(sc, axis=1) == model.y)
    out = ref + hits.mean(axis=1) - hit_pop
    se = np.sqrt(ref * (1 - ref) / model.y_ref.shape[0] + hits.var(axis=1, ddof=1) / draws)
    return _shaped(out, se, shape, return_se)


# --------------------------------------------------------------------------------------------- boundaries
@dataclass(frozen=True)
class Boundary:
    """A predicted boundary: ``value`` of the swept parameter (NaN if none), ``direction`` (+1: mono
    overtakes poly as the parameter grows), the grid and the predicted accuracies along it."""

    axis: str
    value: float
    direction: int
    grid: np.ndarray
    mono: np.ndarray
    poly: np.ndarray

    @property
    def diff(self) -> np.ndarray:
        return self.mono - self.poly


_AXES = ("n_train", "label_noise", "input_noise")


def predicted_boundary(
    mono: PopulationModel,
    poly: PopulationModel,
    axis: str,
    grid: Sequence[float],
    *,
    n_train: float = math.inf,
    label_noise: float = 0.0,
    input_noise: float = 0.0,
    kind: str = "symmetric",
    order: int = 2,
    draws: int = 4,
    seed: int = 0,
) -> Boundary:
    """The crossing of the predicted accuracies (R7) of two codes along ``axis`` (one of ``n_train``,
    ``label_noise``, ``input_noise``), the other two fixed (common random numbers for both codes)."""
    check_option("axis", axis, _AXES)
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"grid has shape {g.shape}, must be 1-D with at least 2 values")
    kw = {"n_train": n_train, "label_noise": label_noise, "input_noise": input_noise, axis: g}
    acc = [predicted_accuracy(mdl, kw["n_train"], kw["label_noise"], kind=kind, input_noise=kw["input_noise"],
                              order=order, draws=draws, seed=seed) for mdl in (mono, poly)]
    val, direction = crossing(g, acc[0] - acc[1], log=axis == "n_train")
    return Boundary(axis, val, direction, g, np.asarray(acc[0]), np.asarray(acc[1]))
