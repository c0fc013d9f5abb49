"""A pruned PyTorch CNN exported with torch.onnx.export runs in sim and matches onnxruntime and torch.

Optional: skipped when torch is not installed (it is not a dependency of sim).
"""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest

from onnx_models import graph_macs
from sim.engine.reference import execute_reference
from sim.workload.onnx_import import load_onnx

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
nn = torch.nn
prune = pytest.importorskip("torch.nn.utils.prune")


class PrunedCNN(nn.Module):
    """Conv-BN stem, a residual block, a depthwise-separable pair, then a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.res = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
        self.dw = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 32, 1)
        self.fc1 = nn.Linear(32 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.res(x))
        x = nn.functional.relu6(self.pw(nn.functional.relu6(self.dw(x))))
        x = nn.functional.max_pool2d(x, 2)
        x = x.view(x.size(0), -1)  # exported as Shape -> Gather -> Unsqueeze -> Concat -> Reshape
        return self.fc2(torch.relu(self.fc1(x)))


def test_pruned_torch_cnn_matches_onnxruntime_and_torch(tmp_path):
    torch.manual_seed(0)
    model = PrunedCNN()
    with torch.no_grad():  # give BatchNorm non-trivial statistics so the fold is exercised
        bn = model.stem[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    convs_and_fcs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured([(m, "weight") for m in convs_and_fcs], pruning_method=prune.L1Unstructured,
                              amount=0.8)
    for m in convs_and_fcs:
        prune.remove(m, "weight")  # make the zeros real weights
    model.eval()
    path = tmp_path / "pruned.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated; the torch.export one needs onnxscript
        torch.onnx.export(model, (torch.randn(2, 3, 12, 12),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})

    net = load_onnx(path)
    x = np.random.default_rng(7).standard_normal((4, 3, 12, 12)).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    expected = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out, profile = execute_reference(net, x)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(out, model(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)

    kinds = [lay.kind for lay in net.layers]
    assert kinds.count("add") == 1 and kinds.count("relu6") == 2 and "flatten" in kinds
    assert [lay.groups for lay in net.weighted_layers][3] == 16
    assert [lw.macs for lw in profile.layers if lw.kind in ("fc", "conv2d")] == graph_macs(onnx.load(path), 4)
    torch_zeros = sum(int((m.weight == 0).sum()) for m in convs_and_fcs)
    # BatchNorm folds scale the stem's weights but keep its zeros, so sim sees exactly torch's pruning
    assert net.weight_count - net.weight_nnz == torch_zeros


# Torchvision families: each exports, loads, equals onnxruntime and counts the MACs fvcore / ptflops
# count (Conv and Linear taps, padding included). Optional: needs torch and torchvision.
TORCHVISION = [("resnet18", (3, 64, 64)), ("mobilenet_v3_small", (3, 64, 64)), ("efficientnet_b0", (3, 64, 64)),
               ("googlenet", (3, 96, 96)), ("inception_v3", (3, 299, 299)), ("squeezenet1_0", (3, 64, 64)),
               ("shufflenet_v2_x0_5", (3, 64, 64)), ("vit_b_16", (3, 224, 224))]


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", TORCHVISION)
def test_torchvision_family_matches_onnxruntime(tmp_path, name, shape):
    tv = pytest.importorskip("torchvision")
    from sim.engine.execute import execute
    kwargs = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    model = getattr(tv.models, name)(weights=None, **kwargs).eval()
    x = torch.randn((1,) + shape)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, str(path), input_names=["x"], output_names=["y"], opset_version=17,
                          dynamo=False)
    net = load_onnx(path)
    assert net.name == name  # torch's "main_graph" takes the file stem
    options = ort.SessionOptions()
    want = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    got, prof = execute(net, x.numpy())
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert sum(lw.macs for lw in prof.layers if lw.kind in ("fc", "conv2d")) == sum(graph_macs(onnx.load(path), 1))
