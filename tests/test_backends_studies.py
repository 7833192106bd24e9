"""The studies on the array backend: every sweep CLI run under array-api-strict on its second device (so any
silent mix with host numpy raises) writes the numpy run's results, an unusable backend is one line and exit
2 before anything is written, and CuPy runs the same when a GPU is there."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("array_api_strict")

ROBUSTNESS_SMALL = ["--sparsity", "0.9", "--m", "10", "--reps", "2", "--train-steps", "100", "--n-train", "200,1000",
                    "--label-noise", "0,0.5", "--label-noise-kind", "symmetric,classcond,margin", "--input-noise",
                    "0,0.3", "--noise-n-train", "1000", "--few-shot", "1,0", "--ood", "density=2", "--n-test", "512",
                    "--theory", "false", "--comparators", "superposed,dense,nonneg,mono"]


def _cupy_usable() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no GPU
        return False


BACKENDS = [("array_api_strict", ["--device", "device1"]),
            pytest.param("cupy", [], marks=[pytest.mark.gpu,
                                            pytest.mark.skipif(not _cupy_usable(), reason="CuPy with a GPU not available")])]


def _run(module: str, out: Path, args: list[str]) -> int:
    return importlib.import_module(module).main([*args, "--out", str(out), "--quiet"])


def _same_tables(a: Path, b: Path, rel: float = 1e-9) -> None:
    """Every CSV equal as text, or (where float association may differ on a device) every numeric cell
    within ``rel`` relative and every text cell equal."""
    import csv
    import math

    names = sorted(p.name for p in a.glob("*.csv"))
    assert names and names == sorted(p.name for p in b.glob("*.csv"))
    for name in names:
        ta, tb = (a / name).read_text(), (b / name).read_text()
        if ta == tb:
            continue
        ra, rb = list(csv.DictReader(ta.splitlines())), list(csv.DictReader(tb.splitlines()))
        assert len(ra) == len(rb), name
        for x, y in zip(ra, rb):
            for k in x:
                if x[k] == y[k]:
                    continue
                fx, fy = float(x[k]), float(y[k])  # a text difference raises here
                assert (math.isnan(fx) and math.isnan(fy)) or abs(fx - fy) <= rel * max(abs(fx), abs(fy)), (name, k)


@pytest.mark.parametrize("backend, extra", BACKENDS)
def test_main_job_quick_equals_numpy(backend, extra, tmp_path):
    assert _run("sims.margin_sweep", tmp_path / "numpy", ["--quick"]) == 0
    assert _run("sims.margin_sweep", tmp_path / backend, ["--quick", "--backend", backend, *extra]) == 0
    _same_tables(tmp_path / "numpy", tmp_path / backend)
    man = json.loads((tmp_path / backend / "manifest.json").read_text())
    assert man["backend"]["name"] == backend


@pytest.mark.parametrize("backend, extra", BACKENDS)
def test_main_job_trained_codes_and_label_noise_kinds_equal_numpy(backend, extra, tmp_path):
    args = ["--quick", "--code", "random,trained", "--toy-steps", "100", "--label-noise-kind", "margin"]
    assert _run("sims.margin_sweep", tmp_path / "numpy", args) == 0
    assert _run("sims.margin_sweep", tmp_path / backend, [*args, "--backend", backend, *extra]) == 0
    _same_tables(tmp_path / "numpy", tmp_path / backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend, extra", BACKENDS)
def test_robustness_sweep_equals_numpy(backend, extra, tmp_path):
    for probe in (["--probe", "softmax", "--readout", "output"],):  # the ls probe / hidden readout: the main job's test
        a, b = tmp_path / f"numpy{probe[1]}", tmp_path / f"{backend}{probe[1]}"
        assert _run("sims.robustness_sweep", a, ["--quick", *ROBUSTNESS_SMALL, *probe]) == 0
        assert _run("sims.robustness_sweep", b, ["--quick", *ROBUSTNESS_SMALL, *probe, "--backend", backend, *extra]) == 0
        _same_tables(a, b)


@pytest.mark.parametrize("module", ["sims.margin_sweep", "sims.robustness_sweep", "realdata.run"])
def test_unusable_backend_is_one_line_and_writes_nothing(module, tmp_path, capsys, monkeypatch):
    if module == "realdata.run":
        pytest.importorskip("torch")
    if _cupy_usable():
        pytest.skip("CuPy is usable here: nothing to refuse")
    rc = _run(module, tmp_path / "o", ["--quick", "--backend", "cupy"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "backend == 'cupy', but CuPy is not usable here" in err, err
    assert not (tmp_path / "o").exists()
    monkeypatch.setenv("SIMS_BACKEND", "cupy")  # the environment's choice is checked the same way
    rc = _run(module, tmp_path / "o", ["--quick"])
    assert rc == 2 and "CuPy is not usable here" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_bad_device_is_one_line(tmp_path, capsys):
    rc = _run("sims.margin_sweep", tmp_path / "o", ["--quick", "--backend", "array_api_strict", "--device", "gpu3"])
    err = capsys.readouterr().err
    assert rc == 2 and "device == 'gpu3', must be one of CPU_DEVICE, device1, device2" in err
    assert not (tmp_path / "o").exists()


def test_a_numpy_call_on_a_device_array_fails_the_run(tmp_path, monkeypatch, capsys):
    """What makes the strict runs above a real test: a study step that converts a device array with
    numpy (here, injected into the matched filter) stops the strict run instead of passing silently."""
    from sims.margins import cell

    real = cell._hits_margins_xp

    def sloppy(S, y, yc, covered):
        np.asarray(S)  # a host conversion of a device array
        return real(S, y, yc, covered)

    monkeypatch.setattr(cell, "_hits_margins_xp", sloppy)
    from sims.sweep.runner import CellError

    with pytest.raises(CellError, match=r"Can't convert array on the 'array_api_strict.Device\('device1'\)' device"):
        _run("sims.margin_sweep", tmp_path / "o", ["--quick", "--backend", "array_api_strict", "--device", "device1"])
