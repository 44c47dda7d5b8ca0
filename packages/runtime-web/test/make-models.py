"""Writes a tiny encoder/decoder pair as ONNX for the @aekit/runtime-web tests.

Usage: /usr/bin/python3 make-models.py OUT_DIR

encoder: input [N, 6] -> Linear(6, 3) -> sigmoid -> codings [N, 3]
decoder: codings [N, 3] -> Linear(3, 6) -> sigmoid -> reconstruction [N, 6]
autoencoder: both in one graph (written as autoencoder.onnx).

The batch axis is dynamic; fixed-batch/ holds the same pair exported with a batch of 2.
The input/output names are deliberately not aekit's ('x', 'z', 'y'; 'input', 'output'),
so the runtime has to read them from the sessions. No aekit.json is written.

vae/ holds a tiny variational autoencoder as `aekit export` writes one, with aekit's names
and an aekit.json (variant "vae", capabilities ["sample"]):
encoder: input [N, 6] -> Linear(6, 4) -> tanh -> two heads Linear(4, 2):
         codings (the mean) [N, 2] and log_variance [N, 2]
decoder: codings [N, 2] -> Linear(2, 6) -> sigmoid -> reconstruction [N, 6]
autoencoder: decoder(mean): no sampling in the graph.
vae/fixed-batch/ holds its encoder and decoder exported with a batch of 2, without
aekit.json (the runtime finds log_variance among the encoder's outputs).

expected.json holds fixed inputs and torch's float32 outputs for them ("vae": the VAE's).
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



class VaeEncoder(torch.nn.Module):
    """6 -> 4 (tanh) -> the mean and the log-variance of a 2-d Gaussian coding."""

    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(6, 4)
        self.mean = torch.nn.Linear(4, 2)
        self.log_variance = torch.nn.Linear(4, 2)

    def forward(self, x):
        h = torch.tanh(self.hidden(x))
        return self.mean(h), self.log_variance(h)


class VaeAutoencoder(torch.nn.Module):
    """decoder(mean): aekit's autoencoder.onnx of a VAE decodes the mean."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x)[0])


vae_encoder = VaeEncoder().eval()
vae_decoder = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Sigmoid()).eval()
vae_autoencoder = VaeAutoencoder(vae_encoder, vae_decoder).eval()


def export_vae(folder, model, name, in_name, out_names, in_features, dynamic=True):
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(
        model,
        torch.zeros(2, in_features),
        os.path.join(folder, name),
        input_names=[in_name],
        output_names=out_names,
        dynamic_axes={n: {0: "batch"} for n in [in_name, *out_names]} if dynamic else None,
        opset_version=13,
    )


vae = os.path.join(out, "vae")
export_vae(vae, vae_encoder, "encoder.onnx", "input", ["codings", "log_variance"], 6)
export_vae(vae, vae_decoder, "decoder.onnx", "codings", ["reconstruction"], 2)
export_vae(vae, vae_autoencoder, "autoencoder.onnx", "input", ["reconstruction"], 6)
vae_fixed = os.path.join(vae, "fixed-batch")
export_vae(
    vae_fixed, vae_encoder, "encoder.onnx", "input", ["codings", "log_variance"], 6, False
)
export_vae(vae_fixed, vae_decoder, "decoder.onnx", "codings", ["reconstruction"], 2, False)
with open(os.path.join(vae, "aekit.json"), "w") as f:
    json.dump(
        {
            "format": "aekit-onnx/1",
            "variant": "vae",
            "inputShape": [6],
            "codingShape": [2],
            "normalization": {"kind": "none", "scale": 1, "offset": 0},
            "outputActivation": "sigmoid",
            "capabilities": ["sample"],
            "graphs": {
                "encoder": {
                    "file": "encoder.onnx",
                    "input": "input",
                    "output": "codings",
                    "extraOutputs": ["log_variance"],
                },
                "decoder": {"file": "decoder.onnx", "input": "codings", "output": "reconstruction"},
                "autoencoder": {
                    "file": "autoencoder.onnx",
                    "input": "input",
                    "output": "reconstruction",
                },
            },
            "aekitVersion": "0.1.0",
        },
        f,
    )

with torch.no_grad():
    vae_mean, vae_log_variance = vae_encoder(x)
    vae_reconstruction = vae_decoder(vae_mean)

expected = {
    "input": x.tolist(),
    "codings": codings.tolist(),
    "reconstruction": reconstruction.tolist(),
    "decodeInput": z.tolist(),
    "decoded": decoded.tolist(),
    "vae": {
        "codings": vae_mean.tolist(),
        "logVariance": vae_log_variance.tolist(),
        "reconstruction": vae_reconstruction.tolist(),
    },
    "torch": torch.__version__,
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print(json.dumps({"out": out, "files": sorted(os.listdir(out))}))
