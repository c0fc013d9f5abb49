"""docs/columns.md documents every column of every CSV sim writes; the README links to it."""
import re
from pathlib import Path

import pytest

from sim.compression.lottery import LTH_COLUMNS
from sim.compression.pipeline import STAGE_COLUMNS
from sim.compression.storage import TABLE_COLUMNS
from sim.engine.timeline import TIMELINE_COLUMNS
from sim.report.compare import ABLATION_COLUMNS, COMPARISON_COLUMNS
from sim.report.price import ENERGY_COLUMNS, LAYER_COLUMNS, SUMMARY_COLUMNS
from sim.sweep.execute import FIXED_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
LTH_SUMMARY = ["round", "variant", "weights_remaining_fraction", "seeds", "accuracy_mean", "accuracy_std",
               "early_stop_iteration_mean", "target_reached", "target_iteration_mean"]


@pytest.mark.parametrize("columns", [SUMMARY_COLUMNS, LAYER_COLUMNS, ENERGY_COLUMNS, TIMELINE_COLUMNS,
                                     COMPARISON_COLUMNS, ABLATION_COLUMNS, STAGE_COLUMNS, TABLE_COLUMNS,
                                     LTH_COLUMNS, LTH_SUMMARY, FIXED_COLUMNS])
def test_every_column_is_documented(columns):
    missing = [c for c in columns if not re.search(rf"(?<![\w.]){re.escape(c)}(?![\w])", DOC)]
    assert not missing


def test_readme_links_the_column_reference_and_shows_the_api():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/columns.md" in readme
    for call in ("sim.run(", "sim.compare(", "sim.compress(", "sim.sweep(", ".write(", ".plot()"):
        assert call in readme, call
