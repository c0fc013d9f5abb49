"""Compression: training, pruning (magnitude, structured, lottery tickets), quantization, encoding.

Stages take a Network and return a new one (weights dense float32 with exact zeros at pruned
positions; ``Layer.quant`` holds k-means or linear encodings). ``run_recipe`` chains them from a
recipe YAML (``python -m sim compress RECIPE``).
"""
from .encode import huffman_decode, huffman_encode, relative_index_decode, relative_index_encode
from .lottery import LotteryConfig, run_lottery
from .prune import apply_masks, layer_rates, magnitude_masks, random_masks
from .quantize import kmeans_quantize, linear_quantize, quantize_network
from .storage import network_storage, storage_table, weight_sharing_rate
from .structured import structured_prune
from .train import TrainConfig, evaluate, init_weights, train

__all__ = ["LotteryConfig", "TrainConfig", "apply_masks", "evaluate", "huffman_decode", "huffman_encode",
           "init_weights", "kmeans_quantize", "layer_rates", "linear_quantize", "magnitude_masks",
           "network_storage", "quantize_network", "random_masks", "relative_index_decode", "relative_index_encode",
           "run_lottery", "storage_table", "structured_prune", "train", "weight_sharing_rate"]
