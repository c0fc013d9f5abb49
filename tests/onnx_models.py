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
    """Dense MACs of each Conv / Gemm / MatMul-with-a-weight node, counted from ONNX's own shape
    inference: every tap of the dense layer, padding included (the convention of SCALE-Sim, fvcore
    and ptflops): output elements x (input channels per group x kernel taps) for a Conv, output
    elements x K for a Gemm / MatMul.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    inits = {init.name for init in model.graph.initializer}
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    macs = []
    for node in model.graph.node:  # constants: initializers and what is computed from them only
        if all(n in inits for n in node.input if n):
            inits.update(node.output)
    for node in model.graph.node:
        if node.op_type == "Conv":
            _, cg, kh, kw = shapes[node.input[1]]
            out = shapes[node.output[0]]
            macs.append(batch * int(np.prod(out[1:])) * cg * kh * kw)
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in inits:
            w = shapes[node.input[1]]
            out = shapes.get(node.output[0]) or []
            rows = int(np.prod(out[1:-1])) if len(out) > 2 else 1  # tokens of a 3-D activation
            macs.append(batch * rows * int(np.prod(w)))
    return macs
