"""ONNX converters for quantized graphs and recurrent cells.

Quantized activations are layers of their own (``quantize``: float -> integer values held in
float32, exact below 2**24; ``dequantize``: back), so a QDQ graph runs as onnxruntime's reference
semantics do. The integer ops decompose into those plus the float layer between them:

- QLinearConv / QLinearMatMul -> dequantize(x) -> conv2d / fc on the dequantized int8 weights
  (+ dequantized int32 bias) -> quantize(y);
- ConvInteger / MatMulInteger -> subtract the zero point (dequantize with scale 1) -> conv2d / fc
  on (w - w_zero_point), whose int32-valued output is exact in float32 below 2**24.

LSTM and GRU become one ``lstm`` / ``gru`` layer (weight [W | R], biases in consts) that the
executors unroll into its gate matmuls per time step; only the forward direction, batch-first
(layout=1) (layout=1): Y is (batch, time, 1, hidden), Y_h (batch, 1, hidden).
"""
from __future__ import annotations

import numpy as np

from .network import Quant
from .onnx_ops import emit_conv, emit_fc

DTYPES = {np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16",
          np.dtype(np.uint16): "uint16", np.dtype(np.int32): "int32"}


def _qparams(b, scale_name: str, zero_name: str | None, rank: int, axis: int | None):
    scale = np.asarray(b.value(b.const(scale_name, "scale")), dtype=np.float32)
    zero = np.asarray(b.value(b.const(zero_name, "zero point")), ) if zero_name else np.zeros((), np.uint8)
    dtype = DTYPES.get(zero.dtype)
    if dtype is None:
        b.fail(f"zero point of element type {zero.dtype} is not supported (int8, uint8, int16, uint16, int32)")
    consts = {"scale": scale.reshape(-1) if scale.size > 1 else scale.reshape(()),
              "zero_point": zero.astype(np.float32).reshape(-1) if zero.size > 1 else zero.astype(np.float32).reshape(())}
    attrs = {"dtype": dtype}
    if scale.size > 1 or zero.size > 1:
        attrs["axis"] = b.sample_axis(1 if axis is None else int(axis), rank)
    return consts, attrs


def quantize_linear(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    if attrs.get("block_size", 0):
        b.fail("blocked quantization (block_size) is not supported")
    zero = b.node.input[2] if len(b.node.input) > 2 and b.node.input[2] else None
    consts, qattrs = _qparams(b, b.node.input[1], zero, len(x.shape), attrs.get("axis", 1))
    if attrs.get("output_dtype"):
        b.fail("QuantizeLinear output_dtype is not supported; give a zero point of the wanted type")
    b.emit("quantize", [x], x.shape, consts=consts, attrs=qattrs)


def dequantize_linear(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    if attrs.get("block_size", 0):
        b.fail("blocked quantization (block_size) is not supported")
    zero = b.node.input[2] if len(b.node.input) > 2 and b.node.input[2] else None
    consts, qattrs = _qparams(b, b.node.input[1], zero, len(x.shape), attrs.get("axis", 1))
    b.emit("dequantize", [x], x.shape, consts=consts, attrs=qattrs)


def _int_weight(b, w_name: str, scale_name: str | None, zero_name: str | None, out_axis: int, transpose: bool):
    """(float weight, Quant or None) of an integer weight: (w - zp) * scale (scale 1 for *Integer ops)."""
    w = np.asarray(b.value(b.const(w_name, "weight")))
    zero = np.asarray(b.value(b.const(zero_name, "weight zero point"))) if zero_name else np.zeros(1, w.dtype)
    scale = np.asarray(b.value(b.const(scale_name, "weight scale")), np.float32) if scale_name else np.ones(1, np.float32)
    shape = [1] * w.ndim
    if zero.size > 1 or scale.size > 1:
        shape[out_axis] = max(zero.size, scale.size)
    centred = w.astype(np.float32) - zero.astype(np.float32).reshape(shape if zero.size > 1 else ())
    value = (centred * scale.reshape(shape if scale.size > 1 else ())).astype(np.float32)
    quant = None
    if w.dtype == np.int8 and not np.any(zero) and scale_name:
        qv = w.T if transpose else w
        quant = Quant(kind="linear", bits=8, qvalues=np.ascontiguousarray(qv), scale=scale.reshape(-1),
                      per_channel=scale.size > 1)
    return (value.T.copy() if transpose else value), quant


def _input(b, index: int) -> str | None:
    return b.node.input[index] if len(b.node.input) > index and b.node.input[index] else None


def qlinear_conv(b, attrs: dict) -> None:
    """x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [bias int32 = round(b / (x_scale * w_scale))]."""
    x = b.act(b.node.input[0])
    consts, qattrs = _qparams(b, b.node.input[1], _input(b, 2), len(x.shape), None)
    xf = b.chain("dequantize", x, x.shape, "dequantize_x", consts=consts, attrs=qattrs)
    weight, quant = _int_weight(b, b.node.input[3], b.node.input[4], _input(b, 5), 0, False)
    bias = None
    if _input(b, 8):
        xs = float(np.asarray(b.value(b.consts[b.node.input[1]])).reshape(-1)[0])
        ws = np.asarray(b.value(b.consts[b.node.input[4]]), np.float32).reshape(-1)
        bias = np.asarray(b.value(b.const(b.node.input[8], "bias")), np.float32) * np.float32(xs) * ws
    tmp = f"{b.node.output[0]}::float"
    b.uses[tmp] = 1
    layer = emit_conv(b, xf, weight, quant, bias, attrs)
    layer_out = b.acts.pop(b.node.output[0])
    b.acts[tmp] = layer_out
    yc, ya = _qparams(b, b.node.input[6], _input(b, 7), len(layer_out.shape), None)
    b.emit("quantize", [layer_out], layer_out.shape, consts=yc, attrs=ya, suffix="quantize_y")


def qlinear_matmul(b, attrs: dict) -> None:
    """a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp with a constant b."""
    x = b.act(b.node.input[0])
    consts, qattrs = _qparams(b, b.node.input[1], _input(b, 2), len(x.shape), None)
    xf = b.chain("dequantize", x, x.shape, "dequantize_a", consts=consts, attrs=qattrs)
    weight, quant = _int_weight(b, b.node.input[3], b.node.input[4], _input(b, 5), 1, True)
    emit_fc(b, xf, weight, None, quant)
    layer_out = b.acts.pop(b.node.output[0])
    yc, ya = _qparams(b, b.node.input[6], _input(b, 7), len(layer_out.shape), None)
    b.emit("quantize", [layer_out], layer_out.shape, consts=yc, attrs=ya, suffix="quantize_y")


def _centred(b, x, zero_name, suffix):
    if not zero_name:
        return x
    zero = np.asarray(b.value(b.const(zero_name, "zero point")))
    if zero.size != 1:
        b.fail("a per-channel activation zero point is not supported")
    consts = {"scale": np.ones((), np.float32), "zero_point": zero.astype(np.float32).reshape(())}
    return b.chain("dequantize", x, x.shape, suffix, consts=consts, attrs={"dtype": DTYPES.get(zero.dtype, "int32")})


def conv_integer(b, attrs: dict) -> None:
    x = _centred(b, b.act(b.node.input[0]), _input(b, 2), "centre_x")
    weight, _ = _int_weight(b, b.node.input[1], None, _input(b, 3), 0, False)
    emit_conv(b, x, weight, None, None, attrs)


def matmul_integer(b, attrs: dict) -> None:
    x = _centred(b, b.act(b.node.input[0]), _input(b, 2), "centre_a")
    weight, _ = _int_weight(b, b.node.input[1], None, _input(b, 3), 1, True)
    emit_fc(b, x, weight, None, None)


def recurrent(b, attrs: dict, kind: str) -> None:
    x = b.act(b.node.input[0])
    gates = 4 if kind == "lstm" else 3
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    if direction != "forward":
        b.fail(f"direction={direction!r} is not supported (only forward)")
    if attrs.get("activations") or attrs.get("clip") or attrs.get("input_forget"):
        b.fail("custom activations, clip and input_forget are not supported")
    layout = int(attrs.get("layout", 0))
    if x.batch_axis != (1 if layout == 0 else 0):
        b.fail(f"layout={layout} needs the batch on axis {1 if layout == 0 else 0} of X; here it is on axis "
               f"{x.batch_axis} (sequence-first X comes from a Transpose(perm=[1, 0, 2]) of (batch, time, features))")
    if len(x.shape) != 2:
        b.fail(f"needs a (time, features) input per sample; got {list(x.shape)}")
    w = np.asarray(b.value(b.const(b.node.input[1], "W")), np.float32)[0]
    r = np.asarray(b.value(b.const(b.node.input[2], "R")), np.float32)[0]
    hidden = int(attrs.get("hidden_size", r.shape[-1]))
    consts = {}
    if _input(b, 3):
        bias = np.asarray(b.value(b.const(b.node.input[3], "B")), np.float32)[0]
        consts.update(wb=bias[:gates * hidden].copy(), rb=bias[gates * hidden:].copy())
    if _input(b, 4):
        b.fail("sequence_lens is not supported (every sequence has the full length)")
    for index, key in ((5, "h0"), (6, "c0")):
        if _input(b, index):
            v = np.asarray(b.value(b.const(b.node.input[index], key)), np.float32)
            if v.reshape(v.shape[0] * v.shape[1], -1).std(axis=0).max(initial=0) > 0:
                b.fail(f"initial state {key} differs per sample; sim needs one broadcast over the batch")
            consts[key] = v.reshape(-1, hidden)[0].copy()
    if kind == "lstm" and _input(b, 7):
        b.fail("peepholes (P) are not supported")
    weight = np.concatenate([w, r], axis=1)
    steps = x.shape[0]
    lattrs = {"hidden_size": hidden}
    if kind == "gru":
        lattrs["linear_before_reset"] = int(attrs.get("linear_before_reset", 0))
    outs = list(b.node.output) + ["", "", ""]
    y_name = outs[0] if outs[0] and b.uses[outs[0]] else f"{b.node.output[0] or b.node.name}::Y"
    b.uses[y_name] = max(b.uses[y_name], 1)
    # Y is (time, 1, batch, hidden) with layout 0, (batch, time, 1, hidden) with 1; Y_h (1, batch, hidden) / (batch, 1, hidden).
    b.emit(kind, [x], (steps, 1, hidden), output=y_name, weight=weight, attrs=lattrs, consts=consts,
           batch_axis=2 if layout == 0 else 0, any_batch_axis=True)
    if outs[1] and b.uses[outs[1]]:  # Y_h: the last step's hidden state
        y = b.acts[y_name]
        b.emit("gather", [y], (1, hidden), output=outs[1], suffix="last_h", consts={"indices": np.int64(steps - 1)},
               attrs={"axis": 0}, batch_axis=1 if layout == 0 else 0, any_batch_axis=True)
    if len(outs) > 2 and outs[2] and b.uses[outs[2]]:
        b.fail("the cell state output Y_c is not supported")


def lstm(b, attrs: dict) -> None:
    recurrent(b, attrs, "lstm")


def gru(b, attrs: dict) -> None:
    recurrent(b, attrs, "gru")


OPS = {"QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear, "QLinearConv": qlinear_conv,
       "QLinearMatMul": qlinear_matmul, "ConvInteger": conv_integer, "MatMulInteger": matmul_integer,
       "LSTM": lstm, "GRU": gru}
