"""Small ONNX models built with onnx.helper (no torch), and an independent MAC count from graph shapes.

Shared by test_onnx.py and test_torch_onnx.py. Every model takes input "x" with a symbolic batch
"N" and gives one output "y".
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    """Appends nodes and initializers; names tensors t0, t1, ... unless told otherwise."""

    def __init__(self, rng: np.random.Generator):
        self.rng, self.nodes, self.inits, self.count = rng, [], [], 0

    def const(self, value, name: str | None = None) -> str:
        name = name or f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, *shape, density: float = 1.0) -> str:
        w = (self.rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
        if density < 1.0:
            w[self.rng.random(shape) >= density] = 0.0
        return self.const(w)

    def op(self, op_type: str, inputs: list[str], out: str | None = None, name: str | None = None, **attrs) -> str:
        out = out or f"t{self.count}"
        self.count += 1
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name or f"{op_type.lower()}{self.count}",
                                           **attrs))
        return out

    def conv(self, x: str, c_in: int, c_out: int, k: int, bias: bool = True, groups: int = 1,
             density: float = 1.0, **attrs) -> str:
        inputs = [x, self.weight(c_out, c_in // groups, k, k, density=density)]
        if bias:
            inputs.append(self.const((0.1 * self.rng.standard_normal(c_out)).astype(np.float32)))
        return self.op("Conv", inputs, group=groups, **attrs)

    def gemm(self, x: str, n_in: int, n_out: int, density: float = 1.0, **attrs) -> str:
        w = self.weight(n_out, n_in, density=density) if attrs.get("transB") else self.weight(n_in, n_out,
                                                                                                density=density)
        b = self.const((0.1 * self.rng.standard_normal(n_out)).astype(np.float32))
        return self.op("Gemm", [x, w, b], **attrs)

    def model(self, input_shape, last: str, opset: int = 17) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [last], ["y"], name="output"))
        graph = helper.make_graph(self.nodes, "test_graph",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                                  initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8  # onnxruntime reads IR 8 everywhere; helper's default may be newer
        model = onnx.shape_inference.infer_shapes(model)  # fills in the output's shape, which the checker wants
        onnx.checker.check_model(model)
        return model


def graph_macs(model: onnx.ModelProto, batch: int) -> list[int]:
    """Dense MACs of each Conv / Gemm / MatMul node, counted from ONNX's own shape inference.

    Convolution taps that fall on padding are not MACs: per axis, count the kernel taps of each
    output position that land inside the input.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    macs = []
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            _, _, h, w = shapes[node.input[0]]
            o, cg, kh, kw = shapes[node.input[1]]
            _, _, oh, ow = shapes[node.output[0]]
            s = attrs.get("strides", [1, 1])
            d = attrs.get("dilations", [1, 1])
            p = attrs.get("pads", [0, 0, 0, 0])
            if attrs.get("auto_pad", b"NOTSET") == b"SAME_UPPER":  # the smaller half of the padding goes first
                p = [((-(-n // st) - 1) * st + (k - 1) * dd + 1 - n) // 2 for n, st, k, dd in
                     ((h, s[0], kh, d[0]), (w, s[1], kw, d[1]))]
            taps_h = sum(1 for y in range(oh) for i in range(kh) if 0 <= y * s[0] - p[0] + i * d[0] < h)
            taps_w = sum(1 for x in range(ow) for j in range(kw) if 0 <= x * s[1] - p[1] + j * d[1] < w)
            macs.append(batch * o * cg * taps_h * taps_w)
        elif node.op_type in ("Gemm", "MatMul"):  # the weight's shape: a Reshape before may hide the batch size
            macs.append(batch * int(np.prod(shapes[node.input[1]])))
    return macs
