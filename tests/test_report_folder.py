"""Report folders never collide silently: a second model file with the same name gets its own folder."""
from __future__ import annotations

from sim.report.files import SOURCE_FILE, report_folder


def test_same_name_different_model_gets_a_suffix(tmp_path):
    base = tmp_path / "reports" / "systolic-main"
    assert report_folder(base, "a/model.onnx") == str(base)
    base.mkdir(parents=True)
    (base / SOURCE_FILE).write_text(str((tmp_path / "nowhere" / "a.onnx").resolve()) + "\n")
    second = report_folder(base, "b/model.onnx")
    assert second == f"{base}-2"
    assert report_folder(base, str(tmp_path / "nowhere" / "a.onnx")) == str(base)  # the same model reuses its folder


def test_cli_writes_the_marker_and_a_second_model_goes_elsewhere(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    outs = []
    for sub in ("one", "two"):
        d = tmp_path / sub
        d.mkdir()
        (d / "T.csv").write_text("Layer, M, N, K,\nL0, 4, 8, 8,\n")
        res = subprocess.run([sys.executable, "-m", "sim", "run", str(repo / "hwconfigs" / "systolic.yaml"),
                              "--model", str(d / "T.csv"), "-q"], capture_output=True, text=True, cwd=tmp_path,
                             env=env, timeout=600)
        assert res.returncode == 0, res.stderr
        outs.append(sorted(p.name for p in (tmp_path / "reports").iterdir()))
    assert outs[-1] == ["systolic-T", "systolic-T-2"]
    assert (tmp_path / "reports" / "systolic-T" / SOURCE_FILE).read_text().strip().endswith("one/T.csv")
