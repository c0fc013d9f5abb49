"""Compression: training, pruning (magnitude, structured, lottery tickets), quantization, encoding.

Stages take a Network and return a new one (weights dense float32 with exact zeros at pruned
positions; ``Layer.quant`` holds k-means or linear encodings). ``run_recipe`` chains them from a
recipe YAML (``python -m sim compress RECIPE``).
"""
# Lazy attributes (PEP 562): importing one stage (e.g. ``compression.train`` for the CLI's defaults)
# must not import numba through every other stage.
_EXPORTS = {'huffman_decode': 'encode', 'huffman_encode': 'encode', 'relative_index_decode': 'encode', 'relative_index_encode': 'encode', 'LotteryConfig': 'lottery', 'run_lottery': 'lottery', 'apply_masks': 'prune', 'layer_rates': 'prune', 'magnitude_masks': 'prune', 'random_masks': 'prune', 'kmeans_quantize': 'quantize', 'linear_quantize': 'quantize', 'quantize_network': 'quantize', 'network_storage': 'storage', 'storage_table': 'storage', 'weight_sharing_rate': 'storage', 'structured_prune': 'structured', 'TrainConfig': 'train', 'evaluate': 'train', 'init_weights': 'train', 'train': 'train'}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["LotteryConfig", "TrainConfig", "apply_masks", "evaluate", "huffman_decode", "huffman_encode",
           "init_weights", "kmeans_quantize", "layer_rates", "linear_quantize", "magnitude_masks",
           "network_storage", "quantize_network", "random_masks", "relative_index_decode", "relative_index_encode",
           "run_lottery", "storage_table", "structured_prune", "train", "weight_sharing_rate"]
