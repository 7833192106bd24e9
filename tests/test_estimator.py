"""sims.engine.estimator.ProbeClassifier: scikit-learn's estimator contract (check_estimator), the same
probes as the engine's functions, and use in pipelines / cross-validation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from sims import ProbeClassifier  # noqa: E402
from sims.engine.probes import fit_linear  # noqa: E402
from sims.engine.sgd import fit_sgd  # noqa: E402

#: the one check the iterative losses are excused from, and why (the test below shows the equivalence)
ITERATIVE_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data":
        "weights enter the objective exactly as repeated rows do (normalized by their sum), but the iterative "
        "solvers stop at a gradient tolerance, so the two fits agree to about 1e-6, not to the check's 1e-7; "
        "test_sample_weight_is_repetition_at_tight_tolerance shows agreement to 1e-9 when converged",
}


@pytest.mark.parametrize("loss", ["squared", "softmax", "logistic", "hinge"])
def test_check_estimator(loss):
    xfail = {} if loss == "squared" else ITERATIVE_XFAIL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(ProbeClassifier(loss=loss), on_fail=None, expected_failed_checks=xfail)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert len(results) > 50 and failed == []


@pytest.mark.parametrize("loss", ["logistic", "hinge", "softmax"])
def test_sample_weight_is_repetition_at_tight_tolerance(loss):
    g = np.random.default_rng(0)
    X, y = g.normal(size=(15, 3)), np.arange(15) % 3
    w = g.integers(0, 3, 15)
    kw = dict(loss=loss, alpha=1e-3, tol=1e-12, max_iter=10000)
    a = ProbeClassifier(**kw).fit(X, y, sample_weight=w)
    b = ProbeClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert a.converged_ and b.converged_
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)


def test_same_probes_as_the_engine_functions():
    g = np.random.default_rng(1)
    X, y = g.normal(size=(60, 4)), np.repeat(["b", "a", "c"], 20)  # string labels, unsorted
    est = ProbeClassifier(alpha=0.5).fit(X, y)
    _, y_enc = np.unique(y, return_inverse=True)
    ref = fit_linear(X, y_enc, 3, alpha=0.5)
    np.testing.assert_allclose(est.coef_, np.asarray(ref.coef), rtol=1e-12)
    assert list(est.classes_) == ["a", "b", "c"]
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.asarray(ref.predict(X))])
    soft = ProbeClassifier(loss="softmax", alpha=1e-2).fit(X, y)
    ref = fit_sgd(X, y_enc, 3, loss="softmax", alpha=1e-2)
    np.testing.assert_allclose(soft.coef_, np.asarray(ref.coef), rtol=1e-10)
    p = soft.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0) and np.testing.assert_array_equal(
        soft.classes_[p.argmax(axis=1)], soft.predict(X))
    assert not hasattr(ProbeClassifier(loss="hinge"), "predict_proba")  # no probabilities without a model
    assert est.score(X, y) == np.mean(est.predict(X) == y)


def test_in_a_pipeline_with_cross_validation_and_grid_search():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), ProbeClassifier(alpha=1.0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85
    grid = GridSearchCV(ProbeClassifier(), {"alpha": [1e-3, 1.0, 1e3]}, cv=3).fit(X[:600], y[:600])
    assert grid.best_params_["alpha"] in (1e-3, 1.0, 1e3) and grid.best_score_ > 0.8


@pytest.mark.parametrize("kw, match", [
    ({"loss": "huber"}, r"loss == 'huber', must be one of"),
    ({"alpha": -1.0}, r"alpha == -1, must be in \[0, inf\)"),
    ({"tol": 0.0}, r"tol == 0, must be in \(0, inf\)"),
])
def test_bad_parameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        ProbeClassifier(**kw).fit(np.eye(4), [0, 1, 0, 1])
