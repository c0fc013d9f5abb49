"""Register-tiled float32 multiply-accumulate, written in LLVM IR through a numba intrinsic.

numba keeps array elements in memory, so a loop ``acc[b] += w_j * x[row_j, b]`` over stored
weights j loads and stores the accumulators once per weight (or per four with ``arith.mac4``),
and LLVM cannot keep them in registers because it cannot prove the arrays do not overlap. Here
the accumulators of a 64-lane tile are four explicit ``<16 x float>`` values that stay in
AVX-512 registers for the whole run of weights: per stored weight, four vector loads and four
FMAs, and one load/add/store of the tile at the end.

Float reassociation: each lane's sum is accumulated in weight order with fused multiply-adds
(no reassociation), so results differ from numpy's only by FMA rounding (allclose).
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

VECTOR_LANES = 16  # float32 lanes of one AVX-512 register
TILE_VECTORS = 4  # registers per accumulator tile (4 x 16 = 64 lanes; 4 independent FMA chains)
TILE_LANES = VECTOR_LANES * TILE_VECTORS


def _is_c_float32(ty) -> bool:
    return isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C" and ty.dtype == types.float32


@intrinsic
def dot_tile(typingctx, acc, x, rows, vals, row_len, lane0):
    """``acc[lane0:lane0 + 64] += sum_j vals[j] * x[rows[j] * row_len + lane0 : ... + 64]``.

    All arrays 1-D C-contiguous; ``acc``, ``x``, ``vals`` float32, ``rows`` integers >= 0.
    No bounds checks: the caller guarantees ``lane0 + 64 <= len(acc)`` and that every
    ``rows[j] * row_len + lane0 + 64 <= len(x)``.
    """
    if not (_is_c_float32(acc) and _is_c_float32(x) and _is_c_float32(vals)
            and isinstance(rows, types.Array) and rows.ndim == 1 and rows.layout == "C"
            and isinstance(rows.dtype, types.Integer)
            and isinstance(row_len, types.Integer) and isinstance(lane0, types.Integer)):
        return None
    sig = types.void(acc, x, rows, vals, row_len, lane0)

    def codegen(context, builder, signature, args):
        acc_a, x_a, rows_a, vals_a = (context.make_array(t)(context, builder, v)
                                      for t, v in zip(signature.args[:4], args[:4]))
        row_len_v = context.cast(builder, args[4], signature.args[4], types.intp)
        lane0_v = context.cast(builder, args[5], signature.args[5], types.intp)
        f32, i32 = ir.FloatType(), ir.IntType(32)
        vec = ir.VectorType(f32, VECTOR_LANES)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                             "llvm.fma.v16f32")
        # Stack slots, promoted to registers by LLVM's mem2reg: they never escape.
        tiles = [cgutils.alloca_once_value(builder, ir.Constant(vec, None)) for _ in range(TILE_VECTORS)]
        n = builder.extract_value(vals_a.shape, 0)
        splat_mask = ir.Constant(ir.VectorType(i32, VECTOR_LANES), None)
        undef = ir.Constant(vec, ir.Undefined)
        with cgutils.for_range(builder, n) as loop:
            j = loop.index
            w = builder.load(builder.gep(vals_a.data, [j]))
            row = context.cast(builder, builder.load(builder.gep(rows_a.data, [j])), signature.args[2].dtype,
                               types.intp)
            start = builder.add(builder.mul(row, row_len_v), lane0_v)
            w_vec = builder.shuffle_vector(builder.insert_element(undef, w, ir.Constant(i32, 0)), undef, splat_mask)
            for q, slot in enumerate(tiles):
                ptr = builder.gep(x_a.data, [builder.add(start, ir.Constant(start.type, q * VECTOR_LANES))])
                x_vec = builder.load(builder.bitcast(ptr, vec.as_pointer()), align=4)
                builder.store(builder.call(fma, [w_vec, x_vec, builder.load(slot)]), slot)
        for q, slot in enumerate(tiles):
            ptr = builder.gep(acc_a.data, [builder.add(lane0_v, ir.Constant(lane0_v.type, q * VECTOR_LANES))])
            ptr = builder.bitcast(ptr, vec.as_pointer())
            builder.store(builder.fadd(builder.load(ptr, align=4), builder.load(slot)), ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen
