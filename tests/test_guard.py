"""The run guard (sim/guard.py) and the one memory check per execution mode (modes.check_fits): a mode
that allocates no activations is not refused for activations it would never hold, and a mode that
does not fit is a clear error naming the mode that would."""
import numpy as np
import pytest

from sim.errors import ConfigError
from sim.execution.modes import check_fits, choose_mode, estimate_memory
from sim.guard import check_run_size
from sim.run import prepare
from sim.workload.network import Layer, Network
from sim.workload.topology import load_topology

# One llama-3B FFN layer as SCALE-Sim v3 writes it: a 262144 x 4096 by 4096 x 16384 GEMM whose
# output alone is 16 GiB of float32 activations.
LLAMA_FFN = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides, Batch Size,
FeedForward_1,  512,          512,         1,             1,            4096,     16384,      1,       1,
"""


@pytest.fixture
def ffn(tmp_path):
    path = tmp_path / "ffn.csv"
    path.write_text(LLAMA_FFN)
    return path


def test_shapes_mode_is_not_refused_for_activations_it_never_allocates(ffn, monkeypatch):
    monkeypatch.setenv("SIM_MEMORY_LIMIT_MB", "1024")
    net = load_topology(ffn, shapes_only=True)
    assert estimate_memory(net, 1, "full") > 16 * 2**30  # the activations full execution would hold
    for execute in ("shapes", "auto"):
        ex = prepare(str(ffn), execute=execute)
        assert ex.mode == "shapes" and ex.outputs is None
        assert ex.profile.layers[0].macs == 262144 * 4096 * 16384


def test_full_mode_that_does_not_fit_names_the_mode_that_would(ffn, monkeypatch):
    monkeypatch.setenv("SIM_MEMORY_LIMIT_MB", "1024")
    with pytest.raises(ConfigError, match=r"full execution of .* needs about .*--execute shapes would fit"):
        prepare(str(ffn), execute="full")


def big_fc_net() -> Network:
    """One 4096 x 2048 fc layer (8M weights: sampled) on a 4096-wide input."""
    w = np.ones((4096, 2048), dtype=np.float32)
    layer = Layer(name="fc", kind="fc", in_shape=(2048,), out_shape=(4096,), weight=w)
    return Network(name="big", input_shape=(2048,), layers=[layer])


def test_the_hint_prefers_sampled_when_it_fits():
    net = big_fc_net()
    full, sampled = estimate_memory(net, 1, "full"), estimate_memory(net, 1, "sampled")
    assert sampled < full
    with pytest.raises(ConfigError, match="--execute sampled would fit"):
        check_fits(net, 1, "full", budget_bytes=sampled + 1)
    with pytest.raises(ConfigError, match="--execute shapes would fit"):
        check_fits(net, 1, "sampled", budget_bytes=sampled - 1)
    mode, _ = choose_mode(net, 1, "full", budget_bytes=full + 1)
    assert mode == "full"


def test_batch_and_seed_out_of_range_are_config_errors(ffn):
    net = load_topology(ffn, shapes_only=True)
    for batch, seed in ((0, 1), (2**40, 1), (1, -1)):
        with pytest.raises(ConfigError):
            check_run_size(net, batch, seed)
    check_run_size(net, 1, 0)


def test_the_event_models_tiles_are_checked_against_the_budget_before_mapping(monkeypatch):
    # llama3b's FFN layers on a 256x256 ws array: 131,072 folds each at batch 1 (engine_bytes).
    import importlib

    from sim.engine.simulate import TILE_BYTES, engine_bytes
    from sim.hardware import load_hardware

    run = importlib.import_module("sim.run")  # the module (``sim.run`` the attribute is the function)
    hw = load_hardware("hwconfigs/systolic.yaml")
    ex = run.prepare("benchmarks/topologies/llama3b.csv")
    tiles = engine_bytes(ex.net, 1, hw)
    assert tiles == TILE_BYTES * 131072
    monkeypatch.setattr(run, "memory_budget_bytes", lambda: tiles // 2)
    with pytest.raises(ConfigError, match="event model of 'systolic'.*MiB of tiles"):
        run.cost(hw, ex)
    run.cost(hw, ex, engine="analytical")  # the analytical model maps no tiles
