"""Writes a tiny encoder/decoder pair as ONNX for the @aekit/runtime-web tests.

Usage: /usr/bin/python3 make-models.py OUT_DIR

encoder: input [N, 6] -> Linear(6, 3) -> sigmoid -> codings [N, 3]
decoder: codings [N, 3] -> Linear(3, 6) -> sigmoid -> reconstruction [N, 6]
autoencoder: both in one graph (written as autoencoder.onnx).

The batch axis is dynamic; fixed-batch/ holds the same pair exported with a batch of 2.
The input/output names are deliberately not aekit's ('x', 'z', 'y'; 'input', 'output'),
so the runtime has to read them from the sessions. No aekit.json is written.
expected.json holds fixed inputs and torch's float32 outputs for them.
"""

import json
import os
import sys

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

encoder = torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Sigmoid()).eval()
decoder = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Sigmoid()).eval()
autoencoder = torch.nn.Sequential(encoder, decoder).eval()


def export(model, name, in_name, out_name, in_features):
    torch.onnx.export(
        model,
        torch.zeros(2, in_features),
        os.path.join(out, name),
        input_names=[in_name],
        output_names=[out_name],
        dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}},
        opset_version=13,
    )


export(encoder, "encoder.onnx", "x", "z", 6)
export(decoder, "decoder.onnx", "z", "y", 3)
export(autoencoder, "autoencoder.onnx", "x", "y", 6)

# The same pair with a fixed batch of 2 (no dynamic axis), as plain exports often are:
# the runtime has to run other batch sizes in chunks of 2.
fixed = os.path.join(out, "fixed-batch")
os.makedirs(fixed, exist_ok=True)
for model, name, n in [(encoder, "encoder.onnx", 6), (decoder, "decoder.onnx", 3)]:
    torch.onnx.export(
        model,
        torch.zeros(2, n),
        os.path.join(fixed, name),
        input_names=["input"],
        output_names=["output"],
        opset_version=13,
    )

x = torch.tensor(
    [
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5],
        [0.5, -0.5, 2.0, -2.0, 0.25, 0.75],
    ],
    dtype=torch.float32,
)
with torch.no_grad():
    codings = encoder(x)
    reconstruction = decoder(codings)
    # decode() is checked on codings chosen independently of the encoder
    z = torch.tensor([[0.0, 0.5, 1.0], [0.9, 0.1, 0.3]], dtype=torch.float32)
    decoded = decoder(z)

expected = {
    "input": x.tolist(),
    "codings": codings.tolist(),
    "reconstruction": reconstruction.tolist(),
    "decodeInput": z.tolist(),
    "decoded": decoded.tolist(),
    "torch": torch.__version__,
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print(json.dumps({"out": out, "files": sorted(os.listdir(out))}))
