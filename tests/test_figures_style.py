"""The figures of every CLI and of the report follow one style (``sims.sweep.style``), and every CLI figure
can be redrawn from the DataFrames of ``load_run``.

Small runs of ``sims.margin_sweep``, ``sims.robustness_sweep`` and ``realdata.run`` are made in-process
once per module, with ``sims.sweep.io.save_figure`` wrapped so that the matplotlib Figure objects the CLIs
save are kept for inspection; the report's figures are drawn from those run folders by the report's own
parts (``reports.results`` / ``reports.robustness``). Checked on every figure: titles shorter than 100
characters, no spelled-out symbols (lam, eta, +-, ...) in titles, axis labels, legends or annotations,
widths within an A4 page, a chance line and [0, 1]-clipped intervals on every accuracy axis. The checks
are shown to fail on a figure built to break them.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from sims.sweep import io as sio
from sims.sweep import style

MARGIN_ARGS = ["--quick", "--sparsity", "0.8,0.9", "--n-train", "64,128", "--quiet"]
ROBUSTNESS_ARGS = ["--quick", "--sparsity", "0.9", "--m", "10", "--reps", "2", "--n-train", "200,1000",
                   "--label-noise", "0,0.5", "--input-noise", "0,0.4", "--noise-n-train", "1000", "--few-shot", "1,0",
                   "--ood", "density=2", "--train-steps", "200", "--n-test", "512", "--theory-pop", "5000",
                   "--theory-test", "200", "--fig-sparsity", "0.9", "--fig-m", "10", "--quiet"]
REALDATA_ARGS = ["--quick", "--representations", "raw,pca", "--label-noise", "0,0.4", "--input-noise", "0,0.5",
                 "--few-shot", "1,0", "--quiet"]
A4_PX = style.A4_WIDTH_IN * 150  # the CLIs and the report save at 150 dpi


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One small run of each sweep CLI; ``figures[name]``: (stem, Figure) of every figure it saved."""
    from realdata.run import main as realdata_main
    from sims.margin_sweep import main as margin_main
    from sims.robustness_sweep import main as robustness_main

    root = tmp_path_factory.mktemp("fig_runs")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    H = rng.normal(size=(400, 12)) + 2.0 * np.eye(4)[y] @ rng.normal(size=(4, 12))
    np.savez(root / "features.npz", H=H, y=y)
    saved: list[tuple[str, object]] = []
    original = sio.save_figure

    def keep(fig, stem, **kw):
        saved.append((Path(stem).name, fig))
        return original(fig, stem, **kw)

    figures = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sio, "save_figure", keep)
        for name, main, args in (("margin", margin_main, MARGIN_ARGS), ("robustness", robustness_main, ROBUSTNESS_ARGS),
                                 ("realdata", realdata_main, [*REALDATA_ARGS, "--features", str(root / "features.npz")])):
            saved.clear()
            assert main([*args, "--out", str(root / name)]) == 0
            figures[name] = list(saved)
    return {"root": root, "figures": figures}


@pytest.fixture(scope="module")
def report_figures(runs) -> list[tuple[str, object]]:
    """Every figure block of the report's result sections drawn from the fixture runs as (stem, Figure), in
    the geometry of ``reports.layout.render_png`` (its PNGs), plus the theory figures of reports.figures."""
    import matplotlib
    from matplotlib.figure import Figure

    from reports import figures as F
    from reports import inputs as I
    from reports.layout import RC, TEXT_WIDTH_IN, FigureBlock
    from reports.results import margin_part, realdata_part
    from reports.robustness import robustness_part

    root = runs["root"]
    src = I.available_sources()
    blocks = []
    blocks += margin_part(I.load_run(src["margin"], root / "margin", "test"), root, "main").figures.values()
    blocks += realdata_part(I.load_run(src["realdata"], root / "realdata", "test"), "real").figures.values()
    rob = I.load_run(src["robustness"], root / "robustness", "test")
    blocks += robustness_part(rob, root, "toy").figures.values()
    blocks.append(FigureBlock("two_feature", "t", "c", F.two_feature_figure(), height=2.7))
    blocks.append(FigureBlock("label_noise_models", "t", "c", F.label_noise_models_figure(
        rob.tables["differences.csv"], (0.9, 10, 1000)), height=2.4))
    out = []
    for b in blocks:
        with matplotlib.rc_context(RC):  # the geometry of render_png, keeping the Figure
            width = TEXT_WIDTH_IN + 0.4
            fig = Figure(figsize=(width, b.height + 1.0))
            b.draw(fig, {"left": 0.65 / width, "right": 1 - 0.15 / width, "top": 1 - 0.2 / (b.height + 1.0),
                         "bottom": 1.35 / (b.height + 1.0)})
        out.append((b.stem, fig))
    return out


def _all_cli_figures(runs) -> list[tuple[str, object]]:
    return [f for figs in runs["figures"].values() for f in figs]


def _drawn(fig):
    """Draw ``fig`` once (tick labels exist after a draw) and return it."""
    buf = io.BytesIO()
    with style.context():
        fig.savefig(buf, format="png", dpi=40)
    return fig


# ------------------------------------------------------------------------------------------ checks
def text_problems(fig) -> list[str]:
    """Titles of 100 characters or more, spelled-out symbols in titles, labels, legends, annotations and
    in the prose of the footnote (the run config after "Run: " quotes field names and is exempt)."""
    texts = style.figure_texts(fig)
    out = [f"title too long ({len(t)}): {t!r}" for t in texts["title"] if len(t) >= style.TITLE_MAX]
    for role in ("title", "label", "legend", "annotation"):
        out += [f"{role} {t!r}: {p!r}" for t in texts[role] for p in style.text_problems(t)]
    for t in texts["footnote"]:
        prose = t.partition("Run: ")[0]
        out += [f"footnote: {p!r}" for p in style.text_problems(prose)]
    return out


def accuracy_axes(fig) -> list:
    return [ax for ax in fig.axes if re.search(r"accuracy", ax.get_ylabel()) and
            not re.search(r"difference|\u2212|-", ax.get_ylabel())]


def missing_chance(fig) -> list[str]:
    """Accuracy axes without a chance line (a horizontal line with gid "chance" strictly inside (0, 1))."""
    out = []
    for ax in accuracy_axes(fig):
        lines = [ln for ln in ax.get_lines() if ln.get_gid() == "chance"]
        ok = any(len(set(np.asarray(ln.get_ydata(), float))) == 1 and 0 < float(ln.get_ydata()[0]) < 1 for ln in lines)
        if not ok:
            out.append(f"{ax.get_title()!r} ({ax.get_ylabel()!r})")
    return out


def unclipped(fig, tol: float = 1e-9) -> list[str]:
    """Accuracy axes with an interval (error bar, band) or a bar outside [0, 1]."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Rectangle

    out = []
    for ax in accuracy_axes(fig):
        ys = []
        for c in ax.collections:
            if isinstance(c, LineCollection):
                ys += [np.asarray(seg)[:, 1] for seg in c.get_segments() if len(seg)]
            elif isinstance(c, PolyCollection):
                ys += [p.vertices[:, 1] for p in c.get_paths()]
        ys += [np.array([p.get_y() + p.get_height()]) for p in ax.patches if isinstance(p, Rectangle)]
        y = np.concatenate(ys) if ys else np.empty(0)
        y = y[np.isfinite(y)]
        if y.size and (y.min() < -tol or y.max() > 1 + tol):
            out.append(f"{ax.get_title()!r}: [{y.min():.3g}, {y.max():.3g}]")
    return out


def complete_legend(fig) -> bool:
    """Every labelled artist of every panel appears in the figure's legend(s) (complete legends, theory and
    bound markers included); a figure without labelled artists needs none."""
    _, labels = style.collect_legend(fig.axes)
    shown = {t.get_text() for leg in fig.legends for t in leg.get_texts()}
    shown |= {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    return set(labels) <= shown


def _png_width(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")


def _nontrivial_png(data: bytes) -> None:
    from matplotlib.image import imread

    img = imread(io.BytesIO(data), format="png")[..., :3]
    ink = (img < 0.9).any(axis=-1).mean()  # share of pixels that are not (nearly) white
    colours = len(np.unique((img[::3, ::3] * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert img.shape[0] > 100 and img.shape[1] > 100, img.shape
    assert 0.02 < ink < 0.9, ink
    assert colours > 20, colours


# ------------------------------------------------------------------------------------------ the checks can fail
def test_checks_catch_a_figure_that_breaks_the_style():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot([0, 1], [0.5, 0.4], label="eta = 0.1")
    ax.fill_between([0, 1], [0.3, 0.2], [1.2, 0.6])
    ax.set_xlabel("input noise lam")
    ax.set_ylabel("test accuracy")
    ax.set_title("mean +- 95% CI")
    ax.legend()
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.plot([0, 1], [0.2, 0.3])
    ax2.set_ylabel("probe accuracy")
    style.chance_line(ax2, 0.25)
    fig.suptitle("x" * 120)
    _drawn(fig)
    problems = text_problems(fig)
    assert any("title too long" in p for p in problems)
    assert any("'lam'" in p for p in problems) and any("'eta'" in p for p in problems)
    assert any("'+-'" in p for p in problems)
    assert missing_chance(fig) == ["'mean +- 95% CI' ('test accuracy')"]
    assert len(unclipped(fig)) == 1
    ax2.plot([0, 1], [0.3, 0.3], ls="--", label="theory")  # labelled, but in no legend
    assert not complete_legend(fig)
    assert fig.get_figwidth() > style.MAX_WIDTH_IN
    # the style's own helpers repair each of them
    assert style.text_problems(style.symbols("input noise lam, eta = 0.1, mean +- CI, lam* and lam_star")) == []
    assert len(style.shorten("x " * 80)) < style.TITLE_MAX
    lo, hi = style.clip_interval([-0.2, 0.5], [0.4, 1.3])
    assert lo.tolist() == [0.0, 0.5] and hi.tolist() == [0.4, 1.0]
    assert style.text_problems("beta, theta, \u03bb, $\\lambda$, \u03b7") == []


# ------------------------------------------------------------------------------------------ the CLIs' figures
def test_every_cli_writes_its_figures_in_the_style(runs):
    names = {k: sorted(stem for stem, _ in v) for k, v in runs["figures"].items()}
    assert names["margin"] == ["margin_sweep_accuracy", "margin_sweep_crossover", "margin_sweep_margins"]
    assert names["robustness"] == sorted(f"robustness_sweep_{n}" for n in ("fig5", "n_train", "few_shot", "ood", "phase"))
    assert names["realdata"] == ["realdata_accuracy", "realdata_monosemanticity"]
    for stem, fig in _all_cli_figures(runs):
        _drawn(fig)
        assert text_problems(fig) == [], stem
        title = fig._suptitle.get_text()
        assert 0 < len(title) < 100, (stem, title)
        assert "Run:" not in title and "seed" not in title  # the config is in the footnote
        assert any("Run: " in t for t in style.figure_texts(fig)["footnote"]), stem
        assert fig.get_figwidth() <= style.MAX_WIDTH_IN + 1e-9 and fig.get_figheight() <= 11.69, stem
        assert complete_legend(fig), stem
        assert missing_chance(fig) == [], stem
        assert unclipped(fig) == [], stem


def test_cli_pngs_fit_an_a4_page(runs):
    pngs = sorted(runs["root"].glob("*/*.png"))
    assert len(pngs) == 10
    for p in pngs:
        w = _png_width(p.read_bytes())
        assert w <= style.MAX_WIDTH_IN * 150 + 1, (p.name, w)


def test_accuracy_axes_exist_where_accuracy_is_plotted(runs):
    """Guard for the chance / clipping checks: they do inspect accuracy axes of every CLI."""
    counts = {k: sum(len(accuracy_axes(f)) for _, f in v) for k, v in runs["figures"].items()}
    assert counts["margin"] >= 6 and counts["robustness"] >= 8 and counts["realdata"] >= 4, counts


def test_main_job_plots_every_training_size_once_per_panel_and_coherence_once(runs):
    from sims.sweep.results import load_run

    figs = dict(runs["figures"]["margin"])
    acc, marg = figs["margin_sweep_accuracy"], figs["margin_sweep_margins"]
    labels = [t.get_text() for t in acc.legends[0].get_texts()]
    assert "probe, n_train = 64" in labels and "probe, n_train = 128" in labels
    # the n_train = 64 curve of the random code under label noise is drawn with the numbers of results.csv
    readout = load_run(runs["root"] / "margin", "readout")
    sel = readout[(readout.code == "random") & (readout.ratio == 2.0) & (readout.sparsity == 0.9)
                  & (readout.readout == "probe") & (readout.noise == "label") & (readout.n_train == 64)]
    want = sel.groupby("level").acc.mean().to_numpy()
    ax = next(a for a in acc.axes if a.get_title() == "probe, label noise, S = 0.9")
    got = [np.asarray(ln.get_ydata(), float) for ln in ax.get_lines() if ln.get_linestyle() != "-"
           and ln.get_color() == style.color("random") and len(ln.get_xdata()) == len(want)]
    assert any(np.allclose(g, want) for g in got)
    # margins figure: one coherence panel (not one per sparsity), mono with its diamond in the legend
    assert sum("coherence" in a.get_ylabel() for a in marg.axes) == 1
    shown = {t.get_text() for t in marg.legends[0].get_texts()}
    handles = dict(zip(*reversed(style.collect_legend(marg.axes))))
    h = handles["mono"]
    parts = list(h) if isinstance(h, (tuple, list)) else [h]  # an errorbar container: its data line has the marker
    assert "mono" in shown and any(getattr(q, "get_marker", lambda: None)() == "D" for q in parts)
    assert {"per-sample bound (M3), median", "Welch bound (M1)", "mono's median margin (reference level)",
            "exact for the code (M9)"} <= shown


def test_robustness_figures_show_theory_winners_and_every_training_size(runs):
    figs = dict(runs["figures"]["robustness"])
    fig5 = [t.get_text() for t in figs["robustness_sweep_fig5"].legends[0].get_texts()]
    assert "theory.robustness prediction (R7)" in fig5 and "chance (1/40)" in fig5
    sizes = [t.get_text() for t in figs["robustness_sweep_n_train"].legends[0].get_texts()]
    assert {"n_train = 200", "n_train = 1000"} <= set(sizes)
    phase = figs["robustness_sweep_phase"]
    assert any(a.get_ylabel().startswith("dense \u2212 superposed") for a in phase.axes)  # its colorbar


# ------------------------------------------------------------------------------------------ the report's figures
def test_report_figures_follow_the_style(report_figures):
    assert len(report_figures) >= 10
    for stem, fig in report_figures:
        _drawn(fig)
        assert text_problems(fig) == [], stem
        assert missing_chance(fig) == [], stem
        assert unclipped(fig) == [], stem
        assert complete_legend(fig), stem
        assert fig.get_figwidth() * 150 <= A4_PX, stem
    n_acc = sum(len(accuracy_axes(f)) for _, f in report_figures)
    assert n_acc >= 8, n_acc


# ------------------------------------------------------------------------------------------ redraw from DataFrames
def _signature(fig) -> list:
    """What a figure shows: its texts by role and, per panel, the data of every line and collection."""
    out: list = [style.figure_texts(fig), tuple(fig.get_size_inches())]
    for ax in fig.axes:
        out.append([(np.asarray(ln.get_xdata(), float).round(12).tolist(), np.asarray(ln.get_ydata(), float).round(12).tolist(),
                     ln.get_color(), str(ln.get_linestyle()), ln.get_marker()) for ln in ax.get_lines()])
        out.append([np.concatenate([np.ravel(p.vertices) for p in c.get_paths()] or [np.empty(0)]).round(12).tolist()
                    for c in ax.collections])
    return out


def test_every_cli_figure_redraws_from_load_run_identically(runs):
    """figures_from_frames(frames(run folder)) draws what the CLI drew (the same texts, sizes and data of
    every artist: one implementation), as non-trivial images."""
    from realdata import figures as RD
    from sims.margins import figures as MF
    from sims.robustness import figures as RF

    root = runs["root"]
    for mod, name, stem in ((MF, "margin", "margin_sweep"), (RF, "robustness", "robustness_sweep"),
                            (RD, "realdata", "realdata")):
        frames = mod.frames(root / name)
        assert all(len(df) for df in frames.values())
        figs = mod.figures_from_frames(frames)
        assert tuple(figs) == mod.FIGURES
        cli = dict(runs["figures"][name])
        for what, fig in figs.items():
            buf = io.BytesIO()
            with style.context():
                fig.savefig(buf, format="png", dpi=60)
            _nontrivial_png(buf.getvalue())
            assert _signature(fig) == _signature(cli[f"{stem}_{what}"]), (name, what)


def test_panel_functions_draw_from_load_run(runs):
    """Each panel function takes the DataFrames of load_run and draws a non-trivial image on a new axes."""
    from realdata import figures as RD
    from sims.margins import figures as MF
    from sims.robustness import figures as RF
    from sims.sweep.results import load_run

    root = runs["root"]
    readout, check, theory = (load_run(root / "margin", r) for r in ("readout", "check", "theory"))
    summary, diffs, bnd = (load_run(root / "robustness", table=t) for t in ("summary.csv", "differences.csv",
                                                                               "boundaries.csv"))
    real = load_run(root / "realdata", table="summary.csv")
    axes = [
        MF.plot_margin(readout, check, sparsity=0.8), MF.plot_fisher(readout), MF.plot_coherence(readout),
        MF.plot_accuracy(readout, sparsity=0.9), MF.plot_accuracy(readout, readout_kind="probe", noise="label"),
        MF.plot_crossover(readout, theory),
        RF.plot_curves(summary, scenario="label_noise", kind="symmetric", differences=diffs),
        RF.plot_training_sizes(summary, scenario="input_noise", kind="gaussian", at="test"),
        RF.plot_few_shot(summary), RF.plot_ood(summary),
        RF.plot_phase(diffs, bnd, x="n_train", y="level", scenario="label_noise", kind="symmetric", at="", m=10,
                      sparsity=0.9),
        RD.plot_curves(real, scenario="label_noise"), RD.plot_bars(real, scenario="geometry", metric="fisher_ratio"),
    ]
    for ax in axes:
        fig = ax.figure
        assert fig.get_figwidth() <= style.MAX_WIDTH_IN
        buf = io.BytesIO()
        with style.context():
            fig.savefig(buf, format="png", dpi=60)
        _nontrivial_png(buf.getvalue())
        assert text_problems(fig) == [], ax.get_title()
        assert missing_chance(fig) == [] and unclipped(fig) == [], ax.get_title()
    # the chance level comes from the run: 1/n for the planted tasks, the largest class share for real data
    chance = {ax.get_title(): [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_gid() == "chance"] for ax in axes}
    assert chance["matched filter, input noise, S = 0.9"] == [pytest.approx(1 / 24)]
    assert chance["label noise (symmetric)"] == [pytest.approx(1 / 40)]
    share = real.loc[real.metric == "consistency_chance", "mean"].mean()
    assert chance["label noise"] == [pytest.approx(share)] and 0.2 < share < 0.5
