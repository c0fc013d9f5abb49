"""The pandas-free report rows (sim/report/table.py) write the bytes pandas writes and sum as pandas sums."""
import numpy as np
import pandas as pd
import pytest

import math

from sim.report.table import Table, column_sum, group_sums

CSV = dict(index=False, float_format="%.10g", lineterminator="\n")


def _pandas_csv(columns, rows, path):
    pd.DataFrame(rows, columns=columns).to_csv(path, **CSV)
    return path.read_bytes()


def _table_csv(columns, rows, path):
    Table(columns, rows).write_csv(path)
    return path.read_bytes()


EDGE_ROWS = [
    ("a,b", 'say "x"', 1, 1.5, True, np.nan, None, 3, np.int64(7), np.float32(0.1), 12345678901234, "", 1, True),
    ("c\nd", "plain", 2, np.nan, False, np.nan, None, 2.0, np.int64(-1), np.float32(2.5), 1.0, "x", "y", 2),
    ("e", "é", 3, 1e-300, True, np.nan, None, np.nan, np.int64(0), np.float32(np.inf), -0.0, None, 2.5, None),
]


def test_edge_columns_are_written_as_pandas_writes_them(tmp_path):
    columns = [f"c{i}" for i in range(len(EDGE_ROWS[0]))]
    assert _table_csv(columns, EDGE_ROWS, tmp_path / "t.csv") == _pandas_csv(columns, EDGE_ROWS, tmp_path / "p.csv")
    assert _table_csv(columns, [], tmp_path / "t0.csv") == _pandas_csv(columns, [], tmp_path / "p0.csv")


def test_a_run_writes_the_bytes_of_its_dataframes(tmp_path):
    import sim
    r = sim.run("hwconfigs/eie.yaml", "models/lenet300-dc.yaml")
    for name in ("summary", "layers", "energy"):
        got = _table_csv(r.tables[name].columns, r.tables[name].rows, tmp_path / f"{name}.t.csv")
        r.tables[name]._frame = None
        assert got == (r.tables[name].frame.to_csv(tmp_path / f"{name}.p.csv", **CSV) or
                       (tmp_path / f"{name}.p.csv").read_bytes())


@pytest.mark.parametrize("seed", range(20))
def test_totals_equal_pandas_bit_for_bit_and_layer_sums_are_correctly_rounded(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    values = rng.lognormal(0, 8, n) * rng.choice([1.0, -1.0], n)
    values[rng.random(n) < 0.05] = np.nan
    keys = [f"L{k}" for k in rng.integers(0, 6, n)]
    frame = pd.DataFrame({"layer": keys, "energy_pj": values})
    assert np.float64(column_sum(values.tolist())).tobytes() == np.float64(frame["energy_pj"].sum()).tobytes()
    got = group_sums(keys, values.tolist())
    assert list(got) == list(dict.fromkeys(keys))
    for k, total in got.items():
        exact = math.fsum(v for key, v in zip(keys, values) if key == k and not np.isnan(v))
        assert total == exact
        assert total == pytest.approx(frame.groupby("layer", sort=False)["energy_pj"].sum()[k], rel=1e-12, abs=1e-300)


def _pandas_string(table, columns, fmt):
    with pd.option_context("display.width", 140, "display.max_columns", 20, "display.float_format", fmt):
        return pd.DataFrame(table.rows, columns=table.columns)[columns].to_string(index=False)


def test_the_printed_layer_table_is_what_pandas_prints():
    import sim
    from sim.report.table import to_string
    fmt = "{:.4g}".format
    cols = ["layer", "type", "weight_density", "act_density", "macs", "effectual_macs", "cycles", "energy_pj",
            "utilization"]
    for hw, model in (("hwconfigs/eie.yaml", "models/lenet300-dc.yaml"), ("hwconfigs/sonic.yaml", "models/lenet5.yaml")):
        layers = sim.run(hw, model).tables["layers"]
        assert to_string(layers, cols, fmt) == _pandas_string(layers, cols, fmt)
    edge = Table(["name", "x", "n", "k"], [("a" * 60, np.nan, -3, "t\tab"), ("b", -1e-9, 12345678901, None),
                                           ("c", np.inf, 0, "z"), ("d", 7.0, 2, "")])
    assert to_string(edge, edge.columns, fmt) == _pandas_string(edge, edge.columns, fmt)
    assert to_string(edge, ["k", "x"], fmt) == _pandas_string(edge, ["k", "x"], fmt)
