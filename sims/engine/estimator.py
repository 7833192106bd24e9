"""A scikit-learn classifier over the engine's probes, for pipelines, grid searches and cross-validation.

:class:`ProbeClassifier` fits one probe of :mod:`sims.engine.probes` (``loss="squared"``: least squares /
ridge on one-hot targets, closed form) or :mod:`sims.engine.sgd` (``"softmax"``, ``"logistic"``,
``"hinge"``: batched L-BFGS) and follows scikit-learn's estimator contract: ``fit / predict /
decision_function / score``, ``predict_proba`` for the probabilistic losses, ``get_params / set_params``,
``classes_`` holding the original labels (any sortable type), ``n_features_in_``, input validation by
``sklearn.utils.validation``. It passes ``sklearn.utils.estimator_checks.check_estimator`` (see
``tests/test_estimator.py``). Needs scikit-learn (the ``dev`` or ``realdata`` extra).

``alpha`` is the probe's own regularization: for ``"squared"`` the ridge penalty of
``sum_i w_i ||Y_i - h_i W - b||² + alpha ||W||²`` (scikit-learn ``Ridge``); for the other losses the L2
strength of the mean loss ``mean_i loss_i + (alpha / 2) ||W||²`` (``alpha = 1 / (C n)`` in terms of
``LogisticRegression``'s ``C``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

__all__ = ["ProbeClassifier", "LOSSES"]

LOSSES = ("squared", "softmax", "logistic", "hinge")


def _probabilistic(est: "ProbeClassifier") -> bool:
    return est.loss in ("softmax", "logistic")


class ProbeClassifier(ClassifierMixin, BaseEstimator):
    """Linear probe classifier (module docstring).

    Parameters
    ----------
    loss : "squared" | "softmax" | "logistic" | "hinge"
    alpha : float >= 0, regularization strength (meaning per loss: module docstring)
    solver : "auto", or for "squared" one of "cholesky", "qr", "svd"; for the others "lbfgs" or "gd"
    fit_intercept : bool
    tol : float > 0, gradient tolerance of the iterative losses
    max_iter : int >= 1 or None (the solver's default), iterative losses only

    Attributes
    ----------
    classes_ : (C,) the labels seen in ``fit``; coef_ : (d, C); intercept_ : (C,); n_features_in_ : int;
    n_iter_ : iterations (1 for the closed form: one solve); converged_ : bool.
    """

    def __init__(self, loss: str = "squared", alpha: float = 1e-3, solver: str = "auto", fit_intercept: bool = True,
                 tol: float = 1e-4, max_iter: int | None = None) -> None:
        self.loss = loss
        self.alpha = alpha
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "ProbeClassifier":
        from sims.engine.validation import NONNEG, POSITIVE, check_number, check_option

        check_option("loss", self.loss, LOSSES)
        alpha = check_number("alpha", self.alpha, NONNEG)
        check_number("tol", self.tol, POSITIVE)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.shape[0] < 2:
            raise ValueError(f"y has 1 class ({self.classes_[0]!r}), a classifier needs samples of at least 2 classes")
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=X.dtype)
        C = int(self.classes_.shape[0])
        if self.loss == "squared":
            from sims.engine.probes import fit_linear

            probe = fit_linear(X, y_enc, C, alpha=alpha, solver=self.solver, fit_intercept=self.fit_intercept,
                               sample_weight=sw)
        else:
            from sims.engine.sgd import fit_sgd

            probe = fit_sgd(X, y_enc, C, loss=self.loss, alpha=alpha, solver=self.solver, tol=self.tol,
                            max_iter=self.max_iter, fit_intercept=self.fit_intercept, sample_weight=sw)
        self.coef_ = np.asarray(probe.coef)
        self.intercept_ = np.asarray(probe.intercept)
        self.n_iter_ = int(np.max(np.asarray(probe.n_iter))) if probe.n_iter is not None else 1
        self.converged_ = bool(np.all(np.asarray(probe.converged))) if probe.converged is not None else True
        return self

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_.astype(X.dtype, copy=False)

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores ``X coef_ + intercept_`` ``(n, C)``; for two classes the margin of the second,
        ``(n,)`` (scikit-learn's convention)."""
        s = self._scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    def predict(self, X: Any) -> np.ndarray:
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_probabilistic)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the softmax of the scores (``"softmax"``) or the normalized one-vs-rest
        sigmoids (``"logistic"``)."""
        s = self._scores(X).astype(np.float64)
        if self.loss == "softmax":
            e = np.exp(s - s.max(axis=1, keepdims=True))
        else:
            e = 1.0 / (1.0 + np.exp(-s))
        return e / e.sum(axis=1, keepdims=True)

    @available_if(_probabilistic)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))
