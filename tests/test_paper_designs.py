"""CrossLight's four variants differ exactly where the paper's do; the papers' workloads match
their published layer and parameter counts."""
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.run import cost, prepare
from sim.yamlfile import read_yaml

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ["crosslight-base", "crosslight-base-ted", "crosslight-opt", "crosslight"]  # Table III order
LABELS = {"name", "description"}
TUNING = {"photonic.tuning.mode", "photonic.tuning.eo_range_nm", "photonic.tuning.ring_spacing_um",
          "photonic.optics.waveguide_length_cm"}  # hybrid TED tuning and the 5 um pitch it allows (§IV.B)
MR_DESIGN = {"photonic.tuning.to_hold_fsr_fraction"}  # FPV-tolerant rings: 7.1 -> 2.1 nm drift (§IV.A)
EXPECTED_DIFF = [TUNING, TUNING | MR_DESIGN, TUNING]


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.mark.parametrize("i", range(3))
def test_each_variant_differs_from_the_previous_only_where_the_paper_changes(i):
    a = flat(read_yaml(ROOT / "hwconfigs" / f"{VARIANTS[i]}.yaml"))
    b = flat(read_yaml(ROOT / "hwconfigs" / f"{VARIANTS[i + 1]}.yaml"))
    assert a.keys() == b.keys()
    assert {k for k in a if a[k] != b[k]} - LABELS == EXPECTED_DIFF[i]


def test_variants_load_and_say_what_they_are():
    hws = [sim.load_hardware(ROOT / "hwconfigs" / f"{v}.yaml") for v in VARIANTS]
    assert [hw.photonic.tuning.mode for hw in hws] == ["independent", "ted", "independent", "ted"]
    assert [round(hw.photonic.tuning.to_hold_fsr_fraction * 18, 1) for hw in hws] == [7.1, 7.1, 2.1, 2.1]


def test_table3_order_on_lenet5():
    ex = prepare(sim.load_network(ROOT / "models" / "crosslight-lenet5.yaml"), batch=1, seed=0)
    rows = [cost(sim.load_hardware(ROOT / "hwconfigs" / f"{v}.yaml"), ex, engine="analytical").summary.iloc[0]
            for v in VARIANTS]
    epb = [r.energy_per_bit_pj for r in rows]
    fpsw = [r.fps_per_w for r in rows]
    assert epb == sorted(epb, reverse=True) and fpsw == sorted(fpsw)
    assert len({r.latency_s for r in rows}) == 1  # the variants change power, not the dataflow


PAPER_PARAMS = {  # (conv layers, fc layers, parameters, parameters after pruning or None)
    "crosslight-lenet5": (2, 2, 60074, None), "crosslight-cifar10": (4, 2, 890410, None),
    "crosslight-stl10": (7, 2, 3204080, None), "crosslight-omniglot": (4, 2, 38951745, None),  # one Siamese twin
    "sonic-mnist": (2, 2, 1498730, 749365), "sonic-cifar10": (6, 1, 552874, 276437),
    "sonic-svhn": (4, 3, 552362, 331417), "sonic-stl10": (6, 1, 77787738, 46672643),
}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_models_match_published_counts(name):
    spec = read_yaml(ROOT / "models" / f"{name}.yaml")
    convs = sum(1 for lay in spec["layers"] if lay["type"] == "conv2d")
    fcs = sum(1 for lay in spec["layers"] if lay["type"] == "fc")
    n_conv, n_fc, params, pruned = PAPER_PARAMS[name]
    assert (convs, fcs) == (n_conv, n_fc)
    if name == "sonic-stl10":
        return  # 77.8M synthetic weights: checked in the slow test below
    net = sim.load_network(ROOT / "models" / f"{name}.yaml")
    weighted = [lay for lay in net.layers if lay.is_weighted]
    total = sum(lay.weight.size + (lay.bias.size if lay.bias is not None else 0) for lay in weighted)
    assert total == params
    if pruned is not None:
        kept = sum(np.count_nonzero(lay.weight) + lay.bias.size for lay in weighted)
        assert kept == pytest.approx(pruned, rel=2e-4)


@pytest.mark.slow
def test_sonic_stl10_counts():
    net = sim.load_network(ROOT / "models" / "sonic-stl10.yaml")
    weighted = [lay for lay in net.layers if lay.is_weighted]
    total = sum(lay.weight.size + lay.bias.size for lay in weighted)
    assert total == pytest.approx(77787738, rel=1e-4)
    kept = sum(np.count_nonzero(lay.weight) + lay.bias.size for lay in weighted)
    assert kept == pytest.approx(46672643, rel=1e-4)
