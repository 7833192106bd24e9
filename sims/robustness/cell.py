"""The robustness study's cell: one (sparsity, m) cell of ``python -m sims.robustness_sweep``.

Per replicate: the comparators' codes (:mod:`sims.robustness.comparators`), the task data, the four
scenarios (:mod:`sims.robustness.scenarios`) on every code, and with ``theory`` the predictions of
``theory.robustness`` for the dense and superposed codes. Rows are described in :mod:`sims.robustness.config`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sims.engine import backend as B
from sims.robustness.config import ROLES

__all__ = ["cell_fn"]


def cell_fn(cell: dict, seed: int) -> list[dict]:
    """One (sparsity, m) cell: ``reps`` replicates of every comparator and scenario (module doc)."""
    with B.one_blas_thread():
        return _cell(cell, seed)


def _cell(cell: dict, seed: int) -> list[dict]:
    from sims.robustness import scenarios as sc
    from sims.robustness.comparators import TrainSettings, build_codes
    from sims.engine.generators import FeatureSpec

    n, m, S = cell["n_features"], cell["m"], cell["sparsity"]
    S_code = S if cell["code_sparsity"] is None else cell["code_sparsity"]
    settings = TrainSettings(cell["train_steps"], cell["train_batch"], cell["train_lr"], cell["importance_decay"])
    names = tuple(cell["comparators"])
    codes = build_codes(names, n, m, sparsity=S_code, reps=cell["reps"], seed=seed, settings=settings, threads=1)
    spec = FeatureSpec(n, sparsity=S)
    ns = tuple(sorted(cell["n_train"]))
    kw = dict(readout=cell["readout"], probe=cell["probe"], alpha=cell["alpha"])
    rows: list[dict] = []
    for r in range(cell["reps"]):
        data = sc.make_task(spec, max(ns), cell["n_test"], B.seed_sequence(seed, "data", r))
        data = sc.to_backend(data)  # drawn on the host, moved to the run's device once
        W = np.stack([codes[nm][r].W for nm in names])
        b = np.stack([codes[nm][r].b for nm in names])
        W, b, _ = sc._codes(W, b, n)  # the codes too, once per replicate
        base = [_code_columns(codes[nm][r], n, m, r) for nm in names]

        def emit(scenario, kind, at, levels, ntrains, acc, record="accuracy", only=None):
            for k, nm in enumerate(names):
                if only is not None and nm not in only:
                    continue
                for j, nt in enumerate(ntrains):
                    for i, lv in enumerate(levels):
                        rows.append({"record": record, **base[k], "scenario": scenario, "kind": kind, "at": at,
                                     "level": float(lv), "n_train": int(nt), "acc": float(acc[k][j][i])})

        for kind in cell["label_noise_kind"]:
            acc = sc.label_noise(W, data, cell["label_noise"], kind=kind, n_train=ns, b=b,
                                 tau=cell.get("margin_tau", 0.1), **kw)
            emit("label_noise", kind, "", cell["label_noise"], ns, acc)
        nn = tuple(sorted(cell["noise_n_train"]))
        for kind in cell["input_noise_kind"]:
            for at in cell["noise_at"]:
                acc = sc.input_noise(W, data, cell["input_noise"], kind=kind, at=at, n_train=nn, b=b, **kw)
                emit("input_noise", kind, at, cell["input_noise"], nn, acc)
        ks = tuple(cell["few_shot"])
        acc = sc.few_shot(W, data, ks, b=b, **kw)
        for k, nm in enumerate(names):
            for j, kk in enumerate(ks):
                rows.append({"record": "accuracy", **base[k], "scenario": "few_shot", "kind": "k", "at": "",
                             "level": float(kk), "n_train": int(kk * n if kk > 0 else max(ns)), "acc": float(acc[k, j])})
        shifts = tuple(cell["ood"])
        acc = sc.ood(W, data, shifts, b=b, **kw)
        clean = sc.label_noise(W, data, [0.0], n_train=(max(ns),), b=b, **kw)[:, 0, 0]
        for k, nm in enumerate(names):
            rows.append({"record": "accuracy", **base[k], "scenario": "ood", "kind": "none", "at": "",
                         "level": 1.0, "n_train": max(ns), "acc": float(clean[k])})
            for j, text in enumerate(shifts):
                sh = sc.parse_shift(text)
                rows.append({"record": "accuracy", **base[k], "scenario": "ood", "kind": sh.kind, "at": "",
                             "level": sh.value, "n_train": max(ns), "acc": float(acc[k, j])})
        if cell["theory"] and cell["probe"] == "ls":
            rows += _theory_rows(cell, seed, r, names, codes, base, ns, nn, S)
    return rows


def _code_columns(code: Any, n: int, m: int, rep: int) -> dict:
    return {"rep": rep, "comparator": code.name, "role": ROLES.get(code.name, "reference"),
            **code.metrics, "train_sparsity": code.train_sparsity, "code_loss": code.final_loss,
            "ratio": n / m, "n_features": n}


def _theory_rows(cell: dict, seed: int, r: int, names: tuple, codes: dict, base: list, ns: tuple, nn: tuple,
                 S: float) -> list[dict]:
    """Predictions of theory.robustness for the dense and superposed codes of replicate ``r`` (the same
    population and test points for both: common random numbers)."""
    from theory import robustness as T

    rows = []
    etas = np.asarray(cell["label_noise"], dtype=np.float64)
    lams = np.asarray(cell["input_noise"], dtype=np.float64)
    for k, nm in enumerate(names):
        if nm not in ROLES:
            continue
        c = codes[nm][r]
        model = T.population_model(c.W, S, b=c.b, readout=cell["readout"], n_pop=cell["theory_pop"],
                                   n_moments=min(5000, cell["theory_pop"]), n_test=cell["theory_test"],
                                   n_ref=cell["theory_pop"], seed=int(B.rng(seed, "theory", r).integers(2**62)))
        acc = T.predicted_accuracy(model, np.asarray(ns)[:, None], etas[None, :], seed=r)
        for j, nt in enumerate(ns):
            for i, ev in enumerate(etas):
                rows.append({"record": "theory", **base[k], "scenario": "label_noise", "kind": "symmetric", "at": "",
                             "level": float(ev), "n_train": int(nt), "acc": float(acc[j, i])})
        if cell["readout"] == "hidden" and "gaussian" in cell["input_noise_kind"] and "test" in cell["noise_at"]:
            acc = T.predicted_accuracy_draws(model, np.asarray(nn)[:, None], 0.0, input_noise=lams[None, :], seed=r)
            for j, nt in enumerate(nn):
                for i, lv in enumerate(lams):
                    rows.append({"record": "theory", **base[k], "scenario": "input_noise", "kind": "gaussian",
                                 "at": "test", "level": float(lv), "n_train": int(nt), "acc": float(acc[j, i])})
    return rows
