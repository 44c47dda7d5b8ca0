import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from '../../../core/src/test-utils/requirements.js';

/**
 * Writes dense autoencoders 784 -> h -> 32 -> h -> 784 (ReLU, sigmoid out) as ONNX, one
 * folder per hidden width `h` (`h64/`, `h512/`…), each with encoder.onnx, decoder.onnx
 * and an aekit.json, for timing devices by model size. Weights are seeded random: only the
 * time matters.
 */
export function makeDenseModels(widths: readonly number[]): { dir: string; folders: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-rtw-dense-'));
  const script = `
import json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
for h in [int(w) for w in sys.argv[2:]]:
    d = os.path.join(out, f"h{h}")
    os.makedirs(d, exist_ok=True)
    enc = torch.nn.Sequential(torch.nn.Linear(784, h), torch.nn.ReLU(), torch.nn.Linear(h, 32)).eval()
    dec = torch.nn.Sequential(torch.nn.Linear(32, h), torch.nn.ReLU(), torch.nn.Linear(h, 784), torch.nn.Sigmoid()).eval()
    for m, name, i, o, n in [(enc, "encoder.onnx", "input", "codings", 784), (dec, "decoder.onnx", "codings", "reconstruction", 32)]:
        torch.onnx.export(m, torch.zeros(2, n), os.path.join(d, name), input_names=[i], output_names=[o],
                          dynamic_axes={i: {0: "batch"}, o: {0: "batch"}}, opset_version=13)
    with open(os.path.join(d, "aekit.json"), "w") as f:
        json.dump({"format": "aekit-onnx/1", "variant": "stacked", "inputShape": [784], "codingShape": [32]}, f)
`;
  const run = spawnSync(PYTHON, ['-c', script, dir, ...widths.map(String)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`making the dense models failed:\n${run.stderr}`);
  return { dir, folders: widths.map((h) => `h${h}`) };
}

/**
 * Writes an encoder/decoder pair (6 -> 4 -> 6, with aekit.json) that uses SELU, which
 * onnxruntime-web 1.30 has no WebGPU kernel for: on WebGPU those nodes run on the CPU and
 * onnxruntime warns "Some nodes were not assigned to the preferred execution providers", as
 * it does for the playground's convolutional models.
 */
export function makeSeluModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-rtw-selu-'));
  const script = `
import json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
enc = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.SELU()).eval()
dec = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.SELU(), torch.nn.Linear(6, 6), torch.nn.Sigmoid()).eval()
for m, name, i, o, n in [(enc, "encoder.onnx", "input", "codings", 6), (dec, "decoder.onnx", "codings", "reconstruction", 4)]:
    torch.onnx.export(m, torch.zeros(2, n), os.path.join(out, name), input_names=[i], output_names=[o],
                      dynamic_axes={i: {0: "batch"}, o: {0: "batch"}}, opset_version=13)
with open(os.path.join(out, "aekit.json"), "w") as f:
    json.dump({"format": "aekit-onnx/1", "variant": "stacked", "inputShape": [6], "codingShape": [4]}, f)
`;
  const run = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`making the SELU model failed:\n${run.stderr}`);
  return dir;
}

/**
 * Writes a convolutional encoder/decoder pair (with aekit.json) that is slow per call and
 * small on disk: two 3x3 convolutions over a `[3, 256, 256]` image (180 M multiply-adds),
 * global average pooling and a linear layer to 8 codings; the decoder spreads 3 values over
 * the image.
 * Its batch-1 encode takes tens of ms on wasm, above `WEBGPU_FLOOR_MS`.
 */
export function makeSlowModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-rtw-slow-'));
  const script = `
import json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
enc = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 8)).eval()
class Dec(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 3)
    def forward(self, z):
        return torch.sigmoid(self.fc(z)).reshape(-1, 3, 1, 1).expand(-1, -1, 256, 256)
dec = Dec().eval()
for m, name, i, o, shape in [(enc, "encoder.onnx", "input", "codings", (2, 3, 256, 256)), (dec, "decoder.onnx", "codings", "reconstruction", (2, 8))]:
    torch.onnx.export(m, torch.zeros(*shape), os.path.join(out, name), input_names=[i], output_names=[o],
                      dynamic_axes={i: {0: "batch"}, o: {0: "batch"}}, opset_version=13)
with open(os.path.join(out, "aekit.json"), "w") as f:
    json.dump({"format": "aekit-onnx/1", "variant": "conv", "inputShape": [3, 256, 256], "codingShape": [8]}, f)
`;
  const run = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`making the slow model failed:\n${run.stderr}`);
  return dir;
}
