"""The main job's figures, drawn from the DataFrames of ``sims.sweep.results.load_run`` (one implementation:
the CLI, the report and a notebook call the same functions).

Frames: ``readout``, ``check`` and ``theory``, the record types of results.csv::

    from sims.sweep.results import load_run
    from sims.margins import figures as MF
    fr = MF.frames("runs/margin_sweep-...")            # {"readout": load_run(run, "readout"), "check": ..., "theory": ...}
    ax = MF.plot_accuracy(fr["readout"], sparsity=0.9)  # one panel (a new figure when ax is None)
    figs = MF.figures_from_frames(fr)                   # {"margins": Figure, "accuracy": Figure, "crossover": Figure}

Panels (each takes ``ax=None`` and returns the axes it drew on):

* :func:`plot_margin`: median matched-filter margin (clean inputs) vs superposition ratio per code, mean ±
  95% CI over replicates, with the median of the per-sample bound (M3) and mono's level as a reference;
* :func:`plot_fisher`: pooled Fisher separation vs ratio with its exact value (M9) and the random-code
  expectation (M9);
* :func:`plot_coherence`: coherence μ vs ratio with the Welch bound (M1) (drawn once: the engine's codes do
  not depend on the sparsity; trained codes get one line per sparsity);
* :func:`plot_accuracy`: accuracy vs input noise λ (matched filter, with the theory (M7)/(M10); or the
  least-squares probe at every training size) or vs label noise η (probes at every training size),
  chance level 1/n;
* :func:`plot_crossover`: the λ where mono overtakes each superposed code vs ratio, with λ* (M11).

Figures: :func:`margins_figure`, :func:`accuracy_figure`, :func:`crossover_figure`, all three with
:func:`figures_from_frames`. The config (for the footnote, n and m) comes from ``config`` or from the
frames' ``attrs["config"]`` (``load_run`` puts it there).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping, Sequence

import numpy as np

from sims.sweep import style as st

__all__ = ["frames", "plot_margin", "plot_fisher", "plot_coherence", "plot_accuracy", "plot_crossover",
           "margins_figure", "accuracy_figure", "crossover_figure", "figures_from_frames", "FIGURES"]

#: the figures of a run, in the order the CLI writes them (file ``margin_sweep_<name>.png``)
FIGURES = ("margins", "accuracy", "crossover")
_TRAINED = ("trained",)  # codes that depend on the sparsity they were trained at


# --------------------------------------------------------------------------------------------- inputs
def frames(source: Any, config: Any = None) -> dict[str, Any]:
    """``{"readout", "check", "theory"}`` DataFrames: of a run folder (``load_run``) or of in-process rows
    (``to_frame``; ``config`` then supplies ``attrs["config"]``)."""
    from sims.margins.config import MarginConfig
    from sims.sweep.results import load_run, to_frame

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return {rec: load_run(source, rec) for rec in ("readout", "check", "theory")}
    rows = list(source)
    cfg = _config(config)
    out = {}
    tab = MarginConfig.schema.table("results.csv")
    for rec in ("readout", "check", "theory"):
        sel = [r for r in rows if r.get("record") == rec]
        cols = None if sel else [c.name for c in (*tab.columns, *tab.records[rec])]  # an empty, typed frame
        df = to_frame(sel, MarginConfig, rec, columns=cols)
        df.attrs["config"] = cfg.to_dict() if cfg is not None else {}
        out[rec] = df
    return out


def _config(config: Any, *dfs: Any) -> Any:
    """The run's MarginConfig: ``config`` itself, from a dict, or from the frames' attrs; None if unknown."""
    from sims.margins.config import MarginConfig

    if isinstance(config, MarginConfig):
        return config
    if isinstance(config, Mapping) and config:
        return MarginConfig.from_dict(config)
    for df in dfs:
        c = getattr(df, "attrs", {}).get("config") if df is not None else None
        if c:
            try:
                return MarginConfig.from_dict(c)
            except (TypeError, ValueError):
                continue
    return None


def _n_features(readout: Any, n_features: int | None) -> int | None:
    if n_features is not None:
        return int(n_features)
    cfg = _config(None, readout)
    return None if cfg is None else int(cfg.n_features)


def _m(readout: Any, m: int | None) -> int | None:
    if m is not None:
        return int(m)
    cfg = _config(None, readout)
    if cfg is not None:
        return int(cfg.m)
    planted = readout[~readout["code"].isin(_TRAINED)]
    return int(round(float(np.median(planted["n_rep"] / planted["ratio"])))) if len(planted) else None


def _codes(df: Any) -> list[str]:
    from sims.margins.config import CODES

    present = list(dict.fromkeys(df["code"]))
    return [c for c in CODES if c in present] + [c for c in present if c not in CODES]


def _sparsity(df: Any, sparsity: float | None) -> float:
    vals = sorted(set(df["sparsity"]))
    if sparsity is None:
        if not vals:
            raise ValueError("the frame holds no rows")
        return float(vals[0])
    return float(sparsity)


def _at(df: Any, **fixed: Any) -> Any:
    """The rows of ``df`` with ``fixed`` column values (floats within 1e-12), without ``df.attrs`` (pandas
    deep-copies them on every operation; the config is read before)."""
    import pandas as pd

    df = pd.DataFrame(df) if df.attrs else df
    mask = np.ones(len(df), dtype=bool)
    for k, v in fixed.items():
        col = df[k]
        mask &= np.isclose(col.to_numpy(dtype=float), float(v), rtol=0, atol=1e-12) if isinstance(v, float) \
            else (col == v).to_numpy()
    return df[mask]


def _new_ax(ax: Any) -> Any:
    if ax is not None:
        return ax
    fig, axes = st.panels(1, width=3.4, panel_height=2.4)
    return axes[0]


def _is_mf(df: Any) -> Any:
    return df[df["readout"] == "matched_filter"]


# --------------------------------------------------------------------------------------------- panels
def plot_margin(readout: Any, check: Any = None, *, sparsity: float | None = None, ax: Any = None,
                codes: Sequence[str] | None = None) -> Any:
    """Median matched-filter margin of covered samples at the smallest input-noise level vs superposition
    ratio (mean ± 95% CI over replicates), per code; dotted triangles: median of the per-sample bound (M3)
    where it is positive, × on the zero line where it is ≤ 0 (vacuous); mono (ratio 1 only) as a diamond and
    a dotted reference level across the panel."""
    ax = _new_ax(ax)
    S = _sparsity(readout, sparsity)
    mf = _is_mf(_at(readout, sparsity=S))
    if mf.empty:
        return ax
    lam0 = float(mf["level"].min())
    marg = st.mean_ci(_at(mf, level=lam0), ["code", "ratio"], "margin_q50")
    bnd = None
    if check is not None and len(check):
        ch = check[(check["check"] == "margin_sample") & (check["stat"] == "q50")]
        bnd = st.mean_ci(_at(ch, sparsity=S), ["code", "ratio"], "value")
    vacuous = False
    for code in codes or _codes(mf):
        m = marg[marg["code"] == code].sort_values("ratio")
        if m.empty:
            continue
        c, mk = st.color(code), st.marker(code)
        mono = code == "mono"
        st.mean_ci_plot(ax, m["ratio"], m["mean"], half=m["ci"], clip=None, color=c, marker=mk,
                        ms=5 if mono else 3, zorder=4 if mono else 2, label=code, mfc=c)
        if mono:
            ref = ax.axhline(float(m["mean"].iloc[0]), color=c, lw=0.7, ls=(0, (1, 3)), zorder=1,
                             label="mono's median margin (reference level)")
            ref.set_gid("reference")
        if bnd is not None:
            b = bnd[bnd["code"] == code].sort_values("ratio")
            xs, bs = b["ratio"].to_numpy(float), b["mean"].to_numpy(float)
            ok = bs > 0
            if ok.any():
                ax.plot(xs[ok], bs[ok], color=c, **st.BOUND)
            bad = ~ok & np.isfinite(bs)
            if bad.any():
                ax.plot(xs[bad], np.zeros(bad.sum()), color=c, ls="none", marker="x", ms=4)
                vacuous = True
    ax.axhline(0.0, color="0.6", lw=0.6)
    if bnd is not None:
        st.proxy(ax, "per-sample bound (M3), median", **st.BOUND)
        if vacuous:
            st.proxy(ax, "bound (M3) \u2264 0: vacuous", ls="none", marker="x", ms=4)
    ax.set_title(f"median margin, sparsity S = {S:g}")
    ax.set_xlabel(st.axis_label("ratio"))
    ax.set_ylabel(f"margin (median, {st.LAMBDA} = {lam0:g})")
    return ax


def plot_fisher(readout: Any, *, sparsity: float | None = None, ax: Any = None,
                codes: Sequence[str] | None = None) -> Any:
    """Pooled Fisher separation of the matched filter (bias-corrected; mean ± 95% CI over replicates) at the
    smallest input-noise level vs ratio, per code; dashed: its exact value for the code (M9); grey dotted:
    the expectation over random codes (M9). Log scale."""
    ax = _new_ax(ax)
    S = _sparsity(readout, sparsity)
    mf = _is_mf(_at(readout, sparsity=S))
    if mf.empty:
        return ax
    lam0 = float(mf["level"].min())
    mf = _at(mf, level=lam0)
    fis = st.mean_ci(mf, ["code", "ratio"], "fisher")
    fex = st.mean_ci(mf, ["code", "ratio"], "fisher_exact")
    for code in codes or _codes(mf):
        f = fis[fis["code"] == code].sort_values("ratio")
        if f.empty:
            continue
        c = st.color(code)
        lo = np.where(f["mean"] - f["ci"] > 0, f["mean"] - f["ci"], f["mean"])  # a log axis: no interval below 0
        st.mean_ci_plot(ax, f["ratio"], f["mean"], lo, f["mean"] + f["ci"], clip=None, color=c,
                        marker=st.marker(code), ms=5 if code == "mono" else 3, label=code, mfc=c)
        e = fex[fex["code"] == code].sort_values("ratio")
        if len(e) and np.isfinite(e["mean"].to_numpy(float)).any():
            ax.plot(e["ratio"], e["mean"], color=c, **st.THEORY)
    rnd = st.mean_ci(mf, ["ratio"], "fisher_random").sort_values("ratio")
    if len(rnd):
        ax.plot(rnd["ratio"], rnd["mean"], color="0.5", ls="-.", lw=0.9, label="random codes, expected (M9)")
    if np.isfinite(fex["mean"].to_numpy(float)).any():
        st.proxy(ax, "exact for the code (M9)", **st.THEORY)
    pos = fis["mean"].to_numpy(float)
    pos = pos[np.isfinite(pos)]
    if pos.size and (pos > 0).all() and pos.max() > 10 * pos.min():  # log scale where it spans a decade
        ax.set_yscale("log")
    ax.set_title(f"Fisher separation, S = {S:g}")
    ax.set_xlabel(st.axis_label("ratio"))
    ax.set_ylabel("pooled Fisher J")
    return ax


def plot_coherence(readout: Any, *, ax: Any = None, m: int | None = None, codes: Sequence[str] | None = None) -> Any:
    """Coherence μ of each code vs ratio (mean over sparsities and replicates: the engine's codes do not
    depend on the sparsity; a trained code gets one line per sparsity), and the Welch bound (M1)."""
    from theory.margins import welch_bound

    ax = _new_ax(ax)
    df = readout.drop_duplicates(["code", "ratio", "sparsity", "rep"])
    sparsities = sorted(set(df["sparsity"]))
    for code in codes or _codes(df):
        sub = df[df["code"] == code]
        if sub.empty:
            continue
        c, mk = st.color(code), st.marker(code)
        groups = [(None, sub)] if code not in _TRAINED else [(S, _at(sub, sparsity=S)) for S in sparsities]
        for S, g in groups:
            mu = st.mean_ci(g, ["ratio"], "mu").sort_values("ratio")
            if mu.empty:
                continue
            ls = "-" if S is None else st.linestyle(S, sparsities)
            st.mean_ci_plot(ax, mu["ratio"], mu["mean"], half=mu["ci"], clip=(0.0, 1.0), color=c, marker=mk,
                            ms=5 if code == "mono" else 3, ls=ls, mfc=c,
                            label=code if S is None else f"{code}, S = {S:g}")
    m = _m(readout, m)
    q = np.sort(df["ratio"].unique())
    if m and q.size:
        qq = np.linspace(q.min(), q.max(), 60)
        ax.plot(qq, welch_bound(qq * m, m), color="k", ls="--", lw=1.0, label="Welch bound (M1)")
    ax.set_title("coherence (every sparsity)")
    ax.set_xlabel(st.axis_label("ratio"))
    ax.set_ylabel(st.axis_label("coherence"))
    return ax


def plot_accuracy(readout: Any, *, sparsity: float | None = None, readout_kind: str = "matched_filter",
                  noise: str = "input", ax: Any = None, n_features: int | None = None, ratio: Any = "max",
                  codes: Sequence[str] | None = None) -> Any:
    """Accuracy vs noise level, mean ± 95% CI over replicates (clipped to [0, 1]), each code at its largest
    valid ratio (``ratio="max"``) or at ``ratio``. ``readout_kind="matched_filter"`` (input noise; dashed: the
    theory, exact (M7) for orthonormal codes, mean-field (M10) otherwise) or ``"probe"`` (input noise, or
    ``noise="label"``: label noise of any kind), one line style per training size (the largest solid).
    Chance: 1/n (``n_features``, or the run's config)."""
    ax = _new_ax(ax)
    S = _sparsity(readout, sparsity)
    df = _at(readout, sparsity=S)
    df = df[df["readout"] == readout_kind]
    if noise == "label":
        df = df[df["noise"].str.startswith("label")]
    else:
        df = df[df["noise"] == noise]
    probe = readout_kind == "probe"
    sizes = sorted({int(v) for v in df["n_train"].dropna()}) if probe else []
    kinds = sorted(set(df["noise"]))
    for code in codes or _codes(df):
        sub = df[df["code"] == code]
        if sub.empty:
            continue
        q = float(sub["ratio"].max()) if ratio == "max" else float(ratio)
        sub = _at(sub, ratio=q)
        c, mk = st.color(code), st.marker(code)
        label = f"{code} (ratio {q:g})"
        for nt in (sizes or [None]):
            g = sub if nt is None else _at(sub, n_train=float(nt))
            a = st.mean_ci(g, ["level"], "acc").sort_values("level")
            if a.empty:
                continue
            ls = "-" if nt is None else st.linestyle(nt, sizes)
            st.mean_ci_plot(ax, a["level"], a["mean"], half=a["ci"], color=c, marker=mk, ls=ls, mfc=c,
                            ms=4.5 if code == "mono" else 3, label=label)
        if not probe and "acc_theory" in sub:
            t = st.mean_ci(sub, ["level"], "acc_theory").sort_values("level")
            if len(t):
                ax.plot(t["level"], t["mean"], color=c, **st.THEORY)
    if not probe and "acc_theory" in df and np.isfinite(df["acc_theory"].to_numpy(float)).any():
        st.proxy(ax, "theory: exact (M7) / mean-field (M10)", **st.THEORY)
    if len(sizes) > 1 or probe:
        for nt in sizes:
            st.proxy(ax, f"probe, n_train = {nt}", ls=st.linestyle(nt, sizes))
    what = "matched filter" if not probe else "probe"
    if noise == "label":
        kind = kinds[0].partition("_")[2] or "symmetric" if kinds else "symmetric"
        ax.set_xlabel(st.axis_label("label_noise", kind))
        ax.set_title(f"{what}, label noise, S = {S:g}")
    else:
        ax.set_xlabel(st.axis_label("input_noise", "Gaussian on x"))
        ax.set_title(f"{what}, input noise, S = {S:g}")
    n = _n_features(readout, n_features)
    st.accuracy_axes(ax, None if not n else 1.0 / n, label=f"{what} accuracy")
    return ax


def crossover_table(readout: Any, theory: Any, config: Any = None) -> list[dict]:
    """:func:`sims.margins.summary.crossovers` of the frames (the same numbers as from the rows)."""
    from sims.margins.summary import crossovers

    cfg = _config(config, readout, theory)
    grid = SimpleNamespace(
        sparsity=tuple(cfg.sparsity) if cfg else tuple(sorted(set(readout["sparsity"]))),
        code=tuple(cfg.code) if cfg else tuple(_codes(readout)),
        ratio=tuple(cfg.ratio) if cfg else tuple(sorted(set(readout["ratio"]))),
        input_noise=tuple(cfg.input_noise) if cfg else tuple(sorted(set(_is_mf(readout)["level"]))))
    rows = readout.to_dict("records") + (theory.to_dict("records") if theory is not None else [])
    return crossovers(rows, grid)


def plot_crossover(readout: Any, theory: Any = None, *, sparsity: float | None = None, ax: Any = None,
                   config: Any = None) -> Any:
    """The input noise λ where mono's matched filter overtakes each superposed code (first sign change of the
    mean accuracy difference, interpolated) vs ratio; open squares: the mean-field balance noise λ* (M11);
    triangles at the largest λ: no crossing on the grid."""
    ax = _new_ax(ax)
    S = _sparsity(readout, sparsity)
    cross = [c for c in crossover_table(readout, theory, config) if abs(c["sparsity"] - S) < 1e-12]
    lam_max = float(_is_mf(readout)["level"].max()) if len(readout) else float("nan")
    none_seen = False
    for code in _codes(readout):
        pts = [c for c in cross if c["code"] == code]
        if not pts:
            continue
        col = st.color(code)
        xs = np.array([p["ratio"] for p in pts])
        emp = np.array([p["empirical"] for p in pts])
        thy = np.array([p["theory"] for p in pts])
        ok = np.isfinite(emp)
        ax.plot(xs[ok], emp[ok], color=col, marker=st.marker(code), ms=4, lw=1.2, label=code)
        if (~ok).any():
            ax.plot(xs[~ok], np.full((~ok).sum(), lam_max), color=col, ls="none", marker="^", ms=5)
            none_seen = True
        okt = np.isfinite(thy)
        ax.plot(xs[okt], thy[okt], color=col, marker="s", mfc="white", ms=4, **st.THEORY)
    ax.axhline(lam_max, color="0.7", lw=0.6, ls=":")
    st.proxy(ax, "simulation (first crossing)", marker="o", ms=4)
    st.proxy(ax, f"mean-field {st.LAMBDA}* (M11)", marker="s", mfc="white", ms=4, **st.THEORY)
    if none_seen:
        st.proxy(ax, f"no crossing up to {st.LAMBDA} = {lam_max:g}", ls="none", marker="^", ms=5)
    ax.set_title(f"mono overtakes, S = {S:g}")
    ax.set_xlabel(st.axis_label("ratio"))
    ax.set_ylabel(f"crossover input noise {st.LAMBDA}")
    return ax


# --------------------------------------------------------------------------------------------- figures
def _footnote(caption: str, cfg: Any) -> str:
    return caption + (f" Run: {cfg.caption()}" if cfg is not None else "")


def _sparsities(df: Any, cfg: Any) -> list[float]:
    present = set(df["sparsity"])
    vals = [float(s) for s in (cfg.sparsity if cfg is not None else sorted(present)) if s in present]
    return vals or sorted(float(s) for s in present)


def margins_figure(readout: Any, check: Any = None, config: Any = None) -> Any:
    """Median margin and Fisher separation per sparsity, and the coherence (once), vs superposition ratio."""
    cfg = _config(config, readout, check)
    Ss = _sparsities(readout, cfg)
    with st.context():
        fig, axes = st.panels(2 * len(Ss) + 1, ncols=max(2, min(3, len(Ss))) if len(Ss) > 1 else 3,
                              panel_height=1.85)
        for i, S in enumerate(Ss):
            plot_margin(readout, check, sparsity=S, ax=axes[i])
            plot_fisher(readout, sparsity=S, ax=axes[len(Ss) + i])
        plot_coherence(readout, ax=axes[-1], m=cfg.m if cfg is not None else None)
        n, m = (cfg.n_features, cfg.m) if cfg is not None else ("?", _m(readout, None))
        reps = f"{cfg.reps} replicates" if cfg is not None else "replicates"
        st.finish(fig, title="Margins, separation and coherence vs superposition", footnote=_footnote(
            f"n = {n} features, m = {m} dimensions. Matched filter on clean inputs; mean \u00b1 95% CI over {reps}. "
            "Margins: median signed margin of covered samples; triangles: median of the per-sample bound (M3), "
            "\u00d7 on the zero line where it is \u2264 0 (vacuous). Fisher J: pooled, bias-corrected. Coherence: "
            "mean over sparsities and replicates, with the Welch bound (M1).", cfg))
    return fig


def accuracy_figure(readout: Any, config: Any = None) -> Any:
    """Accuracy vs noise per sparsity: matched filter under input noise (with theory), probes under input
    noise and under label noise at every training size; chance 1/n."""
    cfg = _config(config, readout)
    Ss = _sparsities(readout, cfg)
    rows = [("matched_filter", "input"), ("probe", "input"), ("probe", "label")]
    with st.context():
        fig, axes = st.panels(len(rows) * len(Ss), ncols=3 if len(Ss) in (1, 3) else min(len(Ss), 3),
                              panel_height=1.75)
        k = 0
        for kind, noise in rows:
            for S in Ss:
                plot_accuracy(readout, sparsity=S, readout_kind=kind, noise=noise, ax=axes[k],
                              n_features=cfg.n_features if cfg is not None else None)
                k += 1
        cap = (f"Mean \u00b1 95% CI over {cfg.reps} replicates of {cfg.n_test} test samples" if cfg is not None
               else "Mean \u00b1 95% CI over replicates")
        st.finish(fig, title="Accuracy under input and label noise", footnote=_footnote(
            cap + ", clipped to [0, 1]; each code at its largest valid ratio. Dashed: theory, exact (M7) for "
            "orthonormal codes, mean-field (M10) for superposed ones. Probes: least squares on h at every training "
            "size, trained on labels flipped at rate \u03b7, tested on clean labels. Dotted grey: chance (1/n).", cfg))
    return fig


def crossover_figure(readout: Any, theory: Any = None, config: Any = None) -> Any:
    """Where mono overtakes each superposed code (matched filter), per sparsity, with λ* (M11)."""
    cfg = _config(config, readout, theory)
    Ss = _sparsities(readout, cfg)
    with st.context():
        fig, axes = st.panels(len(Ss), ncols=min(len(Ss), 3), panel_height=2.1,
                              width=st.MAX_WIDTH_IN if len(Ss) > 1 else 4.2)
        for ax, S in zip(axes, Ss):
            plot_crossover(readout, theory, sparsity=S, ax=ax, config=cfg)
        mono_m = f"mono keeps m = {cfg.m} of n = {cfg.n_features} features. " if cfg is not None else ""
        st.finish(fig, title="Input noise where mono overtakes the superposed code", footnote=_footnote(
            f"{mono_m}Below a curve the superposed code is more accurate (matched filter), above it mono is. "
            "Simulation: first sign change of the mean accuracy difference, linear interpolation between grid "
            "levels; triangles at the largest \u03bb: no crossing on the grid.", cfg))
    return fig


def figure_from_frames(name: str, frames: Mapping[str, Any], config: Any = None) -> Any:
    """One figure of :data:`FIGURES` from the frames of :func:`frames`."""
    readout, check, theory = frames["readout"], frames.get("check"), frames.get("theory")
    if name == "margins":
        return margins_figure(readout, check, config)
    if name == "accuracy":
        return accuracy_figure(readout, config)
    if name == "crossover":
        return crossover_figure(readout, theory, config)
    raise ValueError(f"name == {name!r}, must be one of {', '.join(FIGURES)}")


def figures_from_frames(frames: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
    """Every figure of the CLI from the frames of :func:`frames`: ``{"margins", "accuracy", "crossover"}``."""
    return {name: figure_from_frames(name, frames, config) for name in FIGURES}
