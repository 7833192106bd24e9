"""Simulation toolkit: planted features -> corruption -> code -> probe -> metrics, and the studies on it.

Three layers, imports running one way (engine <- theory <- studies <- reports):

* ``sims.engine``      array backend, validation, generators, codes, metrics, probes, SGD, toy models,
  statistics helpers;
* ``sims.sweep``       configs, the runner, executors, I/O and the shared CLI conventions;
* ``sims.margins``, ``sims.robustness``  the two studies (``python -m sims.margin_sweep``,
  ``python -m sims.robustness_sweep``).

The engine's public names import from here directly (``from sims import make_code, fit_linear``);
they load on first use, so ``import sims`` stays cheap. The full list is ``sims.__all__`` and
``docs/INTERFACES.md``.
"""
from __future__ import annotations

import importlib
from typing import Any

from sims import _compat

__version__ = "0.1.0"

#: public name -> engine module that defines it
_PUBLIC: dict[str, str] = {
    **dict.fromkeys(("get_namespace", "resolve_backend", "resolve_dtype", "asarray", "to_numpy", "rng",
                     "seed_sequence", "draw_rows"), "backend"),
    **dict.fromkeys(("Interval", "check_number", "check_values", "check_option", "check_array", "check_seed"),
                    "validation"),
    **dict.fromkeys(("FeatureSpec", "sample_features", "make_labels", "flip_labels", "add_input_noise",
                     "few_shot_indices", "shift_spec"), "generators"),
    **dict.fromkeys(("make_code", "encode", "code_features", "coherence", "welch_bound", "features_per_dimension",
                     "dimensionality", "interference", "represented"), "codes"),
    # ("margins", the metric, is not here: sims.margins is the main job's package; use
    # sims.engine.metrics.margins or signed_margins)
    **dict.fromkeys(("accuracy", "signed_margins", "fisher_separation", "fisher_ratio", "confusion_matrix"),
                    "metrics"),
    **dict.fromkeys(("LinearProbe", "fit_linear", "fit_lda"), "probes"),
    **dict.fromkeys(("fit_sgd", "ConvergenceWarning"), "sgd"),
    **dict.fromkeys(("ToyModelConfig", "ToyModelResult", "SyntheticBatches", "init_params", "train_toy_model",
                     "toy_loss", "toy_gradients", "feature_metrics"), "toy_model"),
    **dict.fromkeys(("t_stats", "t_interval", "crossing"), "stats"),
    "ProbeClassifier": "estimator",  # needs scikit-learn
}

__all__ = sorted(_PUBLIC)

_compat.install()


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sims' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sims.engine.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
