"""``python -m sim train MODEL`` and ``python -m sim compress RECIPE`` (``sim.compress``)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..compression.train import OPTIMIZERS, TrainConfig
from ..errors import ConfigError
from ..outdir import check_out_dir, default_out, staged_output
from ..paths import resolve_path
from ..validate import check_positive_number
from .common import at_least


def register(sub) -> None:
    """Add ``train`` and ``compress`` to the ``python -m sim`` parser."""
    d = TrainConfig()
    p = sub.add_parser(
        "train", help="train a small model (numpy, seeded) on digits or MNIST and record its weights",
        description="Train MODEL from a seeded He-normal initialization on its dataset (scikit-learn digits, "
                    "or MNIST IDX files with --data). Keeps the weights of the iteration with the lowest "
                    "validation loss, writes them as <model>.npz beside the model and sets its 'weights:' and "
                    "'accuracy:' keys (or writes a new model with --out).")
    p.add_argument("model", help="model YAML, e.g. models/lenet300.yaml")
    p.add_argument("--data", dest="data_dir", help="folder with the MNIST IDX files (train-images-idx3-ubyte, ...); "
                   "default: scikit-learn's bundled digits")
    p.add_argument("--seed", type=int, default=0, help="seed of the initialization and mini-batch order (default 0)")
    p.add_argument("--out", help="write the trained model to this YAML (+ .npz beside it) instead of updating MODEL")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the training split (default {d.epochs})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate per mini-batch step (default {d.lr})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"mini-batch size (default {d.batch_size})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"optimizer (default {d.optimizer})")
    p.add_argument("--eval-every", type=int, default=10,
                   help="iterations between validation-loss checks for early stopping (default 10; 0 = each epoch)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "compress", help="run a compression recipe (Deep Compression or lottery tickets)",
        description="Run RECIPE (a YAML naming the model, data and stages: prune, structured, quantize, encode; "
                    "or a lottery-ticket experiment). Writes compression.csv + compression_layers.csv + storage.png "
                    "(or lth.csv + lth_summary.csv + lth.png) and the compressed model.")
    p.add_argument("recipe", help="recipe YAML, e.g. models/lenet300-deepcomp.yaml")
    p.add_argument("--out", "-o", help="folder for the tables and plots (default reports/compression/<recipe name>)")
    p.add_argument("--data", dest="data_dir", help="folder with the MNIST IDX files; default: the recipe's dataset")
    p.add_argument("--seed", type=int, help="seed of every training, pruning and clustering step (default: the "
                   "recipe's seed; lottery recipes shift all their seeds by the difference)")
    p.add_argument("--model-out", help="where to write the compressed model YAML (default: the recipe's "
                   "output_model, else <out>/<recipe name>-model.yaml)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the final tables")
    p.set_defaults(func=cmd_compress)


def _positive(name: str, value, minimum=1) -> None:
    if value < minimum:
        raise ConfigError(name, f"must be >= {minimum}; got {value}")


def cmd_train(args: argparse.Namespace) -> int:
    from ..compression.models_io import load_architecture, set_top_keys
    from ..compression.pipeline import SplitData
    from ..workload.data import load_dataset
    from ..workload.load import save_network, weight_arrays, write_npz
    from ..compression.train import init_weights, train
    _positive("--epochs", args.epochs)
    _positive("--batch-size", args.batch_size)
    _positive("--seed", args.seed, 0)
    _positive("--eval-every", args.eval_every, 0)
    check_positive_number(args.lr, "--lr")
    if args.out:
        check_out_dir(Path(args.out).parent, "--out")
    arch = load_architecture(args.model)
    data = SplitData(arch, load_dataset(arch.dataset or "digits", args.data_dir))
    cfg = TrainConfig(optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                      eval_every=args.eval_every)
    t0 = time.perf_counter()
    res = train(init_weights(arch, args.seed), data.train, cfg, seed=args.seed, desc=f"train {arch.name}")
    acc = round(data.accuracy(res.net), 6)
    wall_s = time.perf_counter() - t0
    if args.out:
        trained = res.net.replace(accuracy=acc, dataset=arch.dataset or ("mnist" if args.data_dir else "digits"))
        with staged_output(Path(args.out).parent) as stage:  # the YAML and its .npz appear together or not at all
            save_network(trained, stage / Path(args.out).name)
        where = args.out
    else:
        npz = Path(args.model).with_suffix(".npz")
        write_npz(npz, weight_arrays(res.net))
        set_top_keys(args.model, {"weights": npz.name, "accuracy": acc})
        where = f"{args.model} (+ {npz.name})"
    print(f"{arch.name}: test accuracy {acc:.4f} at early-stop iteration {res.best_iteration} of {res.iterations} "
          f"(validation accuracy {res.val_accuracy:.4f}); {wall_s:.1f} s; wrote {where}")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from ..api import compress
    from ..compression.recipe import load_recipe
    if args.seed is not None:
        at_least("--seed", args.seed, 0)
    if args.out:
        check_out_dir(args.out)
    recipe = load_recipe(resolve_path(args.recipe))
    out = args.out or str(check_out_dir(default_out("reports", "compression", names=(recipe.name,))))
    model_out = args.model_out or recipe.output_model
    if model_out:
        check_out_dir(Path(model_out).parent, "--model-out" if args.model_out else f"{recipe.path}: output_model")
    t0 = time.perf_counter()
    result = compress(recipe, data_dir=args.data_dir, seed=args.seed, log=None if args.quiet else print)
    files = result.write(out, model_out=args.model_out)
    wall_s = time.perf_counter() - t0
    if result.compressed.stages is not None:
        print(result.compressed.stages.to_string(index=False))
        print(result.compressed.layers.to_string(index=False))
    if result.compressed.lth_summary is not None:
        print(result.compressed.lth_summary.to_string(index=False))
    print(f"{recipe.name}: {wall_s:.1f} s; wrote {', '.join(files)}")
    return 0
