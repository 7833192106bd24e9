"""Figures of the real-data study, drawn from the DataFrame of its summary.csv (one implementation: the
CLI, the report and a notebook call the same functions)::

    from realdata import figures as RD
    summary = RD.frames("runs/realdata-...")["summary"]       # load_run(run, table="summary.csv")
    RD.plot_curves(summary, scenario="label_noise")          # one panel (a new figure when ax is None)
    figs = RD.figures_from_frames({"summary": summary})      # {"accuracy": Figure, "monosemanticity": Figure}

* :func:`plot_curves`: a metric (test accuracy by default) vs the corruption level of one scenario, one line
  per representation, mean and 95% interval band over replicates (clipped to [0, 1] for accuracy), with the
  chance level (the largest class share, metric ``consistency_chance``);
* :func:`plot_bars`: one clean-feature metric per representation (monosemanticity, class geometry).

Figures: :func:`accuracy_figure` (every corruption scenario) and :func:`monosemanticity_figure`
(:data:`METRICS`), both with :func:`figures_from_frames`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from sims.sweep import style as st

__all__ = ["frames", "plot_curves", "plot_bars", "accuracy_figure", "monosemanticity_figure",
           "figures_from_frames", "summary_frame", "write_figures", "scenarios", "representations", "chance_level", "FIGURES", "METRICS", "XLABELS"]

#: the config class of the study, as manifest.json records it (sims.sweep.results resolves it)
CONFIG_CLASS = "realdata.run.RealDataConfig"
#: the figures of a run (file ``realdata_<name>.png``)
FIGURES = ("accuracy", "monosemanticity")
#: the clean-feature metrics of :func:`monosemanticity_figure`: (scenario, metric, panel title)
METRICS = (("monosemanticity", "semantic_consistency", "semantic consistency (higher: monosemantic)"),
           ("monosemanticity", "sparsity", "activation sparsity"),
           ("geometry", "fisher_ratio", "Fisher ratio J (train features)"),
           ("geometry", "coherence", "coherence of class means"))
_SHARES = {"semantic_consistency", "semantic_consistency_both", "sparsity", "hoyer_sparsity", "coherence",
           "dead_fraction", "consistency_chance"}
_POSITIVE = {"fisher_ratio", "fisher_discriminant", "dim", "dead_dims"}
#: x label per scenario
XLABELS = {"label_noise": "label-noise rate \u03b7", "few_shot": "k per class (all: every sample)",
           "gaussian_noise": "input noise sd (Gaussian)", "uniform_noise": "input noise sd (uniform)",
           "rotation": "rotation (degrees)", "inversion": "inversion blend a", "blur": "blur \u03c3 (px)",
           "translation": "translation (pixels)", "time_shift": "time shift (fraction of the length)",
           "time_scale": "stretch (factor \u2212 1)", "smoothing": "smoothing \u03c3 (samples)", "trend": "trend rise (sd)",
           "mean_shift": "mean shift (sd)", "scaling": "scaling (factor \u2212 1)", "block_mask": "share masked",
           "ood": "given OOD set"}


def frames(source: Any, config: Any = None) -> dict[str, Any]:
    """``{"summary": DataFrame}`` of a run folder (``load_run(run, table="summary.csv")``), or of the rows
    of results.csv (aggregated by :func:`realdata.summary.aggregate`; ``config`` sets the attrs)."""
    from realdata import summary as S
    from sims.sweep.results import load_run

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return {"summary": load_run(source, table="summary.csv")}
    return {"summary": summary_frame(S.aggregate(list(source)), config)}


def summary_frame(agg: Sequence[Mapping[str, Any]], config: Any = None) -> Any:
    """The rows of :func:`realdata.summary.aggregate` (summary.csv) as ``load_run`` would return them."""
    from sims.sweep.results import to_frame

    agg = list(agg)
    df = to_frame(agg, CONFIG_CLASS, table="summary.csv", columns=list(agg[0]) if agg else None)
    df.attrs["config"] = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
    return df


def representations(summary: Any) -> list[str]:
    """The representations of the frame: baselines first (``realdata.summary.representations``)."""
    from realdata.summary import representations as reps

    return reps({"representation": r} for r in set(summary["representation"]))


def scenarios(summary: Any, metric: str = "accuracy") -> list[str]:
    """The corruption scenarios with rows of ``metric``, in ``realdata.summary.CORRUPTION_SCENARIOS`` order."""
    from realdata.summary import CORRUPTION_SCENARIOS

    present = set(summary.loc[summary["metric"] == metric, "scenario"])
    return [s for s in CORRUPTION_SCENARIOS if s in present]


def chance_level(summary: Any) -> float | None:
    """The accuracy of always answering the largest class (metric ``consistency_chance``), or None."""
    c = summary.loc[summary["metric"] == "consistency_chance", "mean"].to_numpy(float)
    c = c[np.isfinite(c)]
    return float(c.mean()) if c.size else None


def _new_ax(ax: Any) -> Any:
    if ax is not None:
        return ax
    fig, axes = st.panels(1, width=3.4, panel_height=2.4)
    return axes[0]


def plot_curves(summary: Any, *, scenario: str, metric: str = "accuracy", ax: Any = None,
                reps: Sequence[str] | None = None, chance: float | None = None) -> Any:
    """``metric`` vs the level of ``scenario``, one line per representation: mean and 95% interval band over
    replicates (clipped to [0, 1] for accuracy); few-shot level 0 (all samples) drawn last, at twice the
    largest k, ticked "all"; chance (accuracy only): ``chance`` or :func:`chance_level`."""
    ax = _new_ax(ax)
    sel = summary[(summary["scenario"] == scenario) & (summary["metric"] == metric)]
    acc = metric == "accuracy"
    xs_all: dict[float, str] = {}
    for rep in reps or representations(summary):
        r = sel[sel["representation"] == rep]
        if r.empty:
            continue
        x = r["level"].to_numpy(float)
        if scenario == "few_shot":
            kmax = max(float(np.nanmax(sel["level"])), 1.0)
            x = np.where(x == 0, 2 * kmax, x)
            xs_all.update({float(v): ("all" if v == 2 * kmax else f"{v:g}") for v in x})
        order = np.argsort(x)
        m, c = r["mean"].to_numpy(float)[order], np.nan_to_num(r["ci"].to_numpy(float)[order])
        st.mean_ci_plot(ax, x[order], m, half=c, band=True, clip=(0.0, 1.0) if acc else None,
                        color=st.color(rep, "representation"), marker="o", ms=2.5, label=rep.upper())
    if scenario == "few_shot" and xs_all:
        ax.set_xscale("log")
        ax.set_xticks(sorted(xs_all), [xs_all[k] for k in sorted(xs_all)])
        ax.minorticks_off()
    ax.set_title(scenario.replace("_", " "))
    ax.set_xlabel(XLABELS.get(scenario, "level"))
    if acc:
        st.accuracy_axes(ax, chance if chance is not None else chance_level(summary))
    else:
        ax.set_ylabel(metric.replace("_", " "))
    return ax


def plot_bars(summary: Any, *, scenario: str, metric: str, ax: Any = None, title: str | None = None,
              reps: Sequence[str] | None = None) -> Any:
    """One clean-feature metric (level 0) per representation: mean with its 95% interval (clipped to
    [0, 1] for shares and cosines, to >= 0 for positive quantities)."""
    ax = _new_ax(ax)
    reps = list(reps or representations(summary))
    sel = summary[(summary["scenario"] == scenario) & (summary["metric"] == metric) & (summary["level"] == 0.0)]
    m, c = [], []
    for rep in reps:
        r = sel[sel["representation"] == rep]
        m.append(float(r["mean"].iloc[0]) if len(r) else np.nan)
        c.append(float(r["ci"].iloc[0]) if len(r) else np.nan)
    m, c = np.asarray(m), np.asarray(c)
    lo, hi = m - c, m + c
    if metric in _SHARES:  # shares and cosines: the interval stays in [0, 1]
        lo, hi = st.clip_interval(lo, hi)
    elif metric in _POSITIVE:
        lo = np.maximum(lo, 0.0)
    err = np.nan_to_num(np.vstack([np.maximum(m - lo, 0), np.maximum(hi - m, 0)]))
    ax.bar(range(len(reps)), m, yerr=err, color=[st.color(r, "representation") for r in reps],
           capsize=2, error_kw={"lw": 0.6})
    ax.set_xticks(range(len(reps)), [r.upper() for r in reps])
    ax.grid(False, axis="x")
    ax.set_title(title or metric.replace("_", " "))
    ax.set_ylabel(metric.replace("_", " "))
    return ax


def _footnote(text: str, config: Any) -> str:
    cfg = _config(config)
    return text + (f" Run: {cfg.caption()}" if cfg is not None else "")


def _config(config: Any, *dfs: Any) -> Any:
    """The run's config: ``config`` itself (a config object), or built from a dict / the frames' attrs by
    the class manifest.json names (loaded by ``load_run``; None when it is not)."""
    if hasattr(config, "caption") and hasattr(config, "replicate"):
        return config
    c = config if isinstance(config, Mapping) and config else None
    for df in dfs:
        c = c or getattr(df, "attrs", {}).get("config")
    cls = _config_class()
    if c and cls is not None:
        try:
            return cls.from_dict(c)
        except (TypeError, ValueError):
            return None
    return None


def _config_class() -> Any:
    """The config class of the study (``CONFIG_CLASS``) when it is loaded: realdata.run imports this module,
    so the class is looked up among the loaded sweep configs rather than imported here."""
    from sims.sweep.config import SweepConfig

    todo = list(SweepConfig.__subclasses__())
    while todo:
        c = todo.pop()
        if f"{c.__module__}.{c.__qualname__}" == CONFIG_CLASS:
            return c
        todo += c.__subclasses__()
    return None


def _data_name(cfg: Any) -> str:
    if cfg is None:
        return ""
    name = cfg.features or cfg.data
    return Path(str(name)).stem if ("/" in str(name) or str(name).endswith(".npz")) else str(name)


def accuracy_figure(summary: Any, config: Any = None) -> Any:
    """Probe accuracy vs corruption level, one panel per scenario of the run."""
    cfg = _config(config, summary)
    scen = scenarios(summary) or ["label_noise"]
    with st.context():
        fig, axes = st.panels(len(scen), ncols=min(3, len(scen)), panel_height=1.7,
                              width=st.MAX_WIDTH_IN if len(scen) > 1 else 4.2)
        for ax, sc in zip(axes, scen):
            plot_curves(summary, scenario=sc, ax=ax)
        n = f"{len(cfg.replicate)} replicates" if cfg is not None else "replicates"
        name = _data_name(cfg)
        st.finish(fig, title=f"Real data{' (' + name + ')' if name else ''}: probe accuracy under corruptions",
                  footnote=_footnote(
                      f"Linear (ridge) probe on frozen features; mean and 95% CI band (Student t) over {n}, each a "
                      "new split and newly trained encoders, clipped to [0, 1]. Few-shot: k training samples per "
                      "class, 'all' uses every sample. Dotted grey: chance (the largest class share).", cfg))
    return fig


def monosemanticity_figure(summary: Any, config: Any = None) -> Any:
    """Monosemanticity and class-geometry metrics per representation (:data:`METRICS`, clean features)."""
    cfg = _config(config, summary)
    with st.context():
        fig, axes = st.panels(len(METRICS), ncols=2, panel_height=1.6)
        for ax, (sc, metric, title) in zip(axes, METRICS):
            plot_bars(summary, scenario=sc, metric=metric, ax=ax, title=title)
        n = f"{len(cfg.replicate)} replicates" if cfg is not None else "replicates"
        st.finish(fig, title="Real data: monosemanticity and class geometry", footnote=_footnote(
            f"Clean features; bars: mean, whiskers: 95% CI over {n}.", cfg))
    return fig


def figures_from_frames(frames: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
    """Every figure of the CLI: ``{"accuracy", "monosemanticity"}``."""
    summary = frames["summary"]
    return {"accuracy": accuracy_figure(summary, config), "monosemanticity": monosemanticity_figure(summary, config)}


def write_figures(summary: Any, out_dir: Any, config: Any) -> list[Path]:
    """Draw :func:`figures_from_frames` from the summary DataFrame and save them (PNG + PDF)."""
    from sims.sweep.io import save_figure

    figs = figures_from_frames({"summary": summary}, config)
    paths: list[Path] = []
    with st.context():
        for name in FIGURES:
            paths += save_figure(figs[name], Path(out_dir) / config.figure_stem(name), tight=False)
    return paths

