"""Systolic tiles built with numpy (``vector_tiles``) equal the fold-by-fold construction and
``tiles.coalesce`` (``fold_tiles``): labels, cycles, loads, stores and counts in the same order."""
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.dataflows.systolic import fill_drain_cycles, fold_tiles, vector_tiles
from sim.engine.tiles import slices, split
from sim.hardware import load_hardware
from sim.paths import REPO_ROOT

HW = load_hardware(REPO_ROOT / "hwconfigs" / "systolic.yaml", {"memory.buffers.weight_fifo.size_kb": 1,
                                                               "memory.buffers.unified_buffer.size_kb": 4})


def fields(t):
    return (t.label, t.pe_cycles.tolist(), t.pe_cycles.dtype, t.balanced_cycles, t.loads, t.stores,
            t.reprogram_cycles, list(t.counts.items()), t.groups)


@settings(max_examples=60, deadline=None)
@given(df=st.sampled_from(["os", "ws", "is"]), rows=st.integers(1, 9), cols=st.integers(1, 9),
       groups=st.integers(1, 3), n_pix=st.integers(1, 200), k=st.integers(1, 90), m=st.integers(1, 90),
       chunks=st.integers(1, 4), macs_frac=st.sampled_from([0.0, 0.3, 1.0]), w_total=st.integers(0, 5000),
       in_total=st.integers(0, 5000), out_total=st.integers(0, 5000), stay=st.tuples(st.booleans(), st.booleans()),
       io=st.tuples(st.booleans(), st.booleans(), st.booleans()), meta=st.booleans(), rto=st.booleans())
def test_vector_tiles_equal_fold_tiles(df, rows, cols, groups, n_pix, k, m, chunks, macs_frac, w_total, in_total,
                                       out_total, stay, io, meta, rto):
    sr, sc, big_t = {"os": (n_pix, m, k), "ws": (k, m, n_pix), "is": (k, n_pix, m)}[df]
    t_sizes = [int(x) for x in split(big_t, np.ones(min(chunks, big_t)))]
    wbuf, ibuf, obuf = (HW.memory.buffer_for(r) for r in ("weights", "inputs", "outputs"))
    args = (df, fill_drain_cycles(df, rows, cols), slices(sr, rows), slices(sc, cols), t_sizes, groups,
            int(macs_frac * groups * n_pix * k * m), (8, 8), w_total, stay[0], in_total, stay[1], out_total,
            SimpleNamespace(weights_from_dram=io[0], inputs_from_dram=io[1], outputs_to_dram=io[2]),
            (wbuf, ibuf, obuf), 32, ("meta_sram", 2) if meta and not rto else None, rto, HW)
    a, b = vector_tiles(*args), fold_tiles(*args)
    assert [fields(t) for t in a] == [fields(t) for t in b]
