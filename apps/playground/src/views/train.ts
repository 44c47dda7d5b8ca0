import { getVariant, parseVariantOptions } from '@aekit/core';
import { describedGraphSpec, layersToOnnx } from '@aekit/export/browser';
import { loadAutoencoder } from '@aekit/runtime-web';
import {
  asTfjsPlugin,
  DEFAULT_ONNX_GRAPHS,
  disposeNetworks,
  lossParts,
  registerBuiltinVariants,
} from '@aekit/trainers/browser';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import '@tensorflow/tfjs-backend-webgpu';
import { chartCanvas, drawImages, imageCanvas } from '../canvas.js';
import { loadTestImages } from '../data.js';
import { el, panel, type View } from '../ui.js';

/** The network trained in the page: the stacked variant, small enough for seconds per epoch. */
const VARIANT = 'stacked';
const OPTIONS = { layers: [64, 16] };
const SHOWN = 8;

// The threaded wasm build starts its workers from its own minified source, which breaks once
// bundled; one thread (SIMD) is plenty for this small network.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** The first of `wanted` (or webgpu, wasm, cpu in that order for auto) that starts here. */
async function pickBackend(wanted: string): Promise<string> {
  const order =
    wanted === 'auto' ? ['webgpu', 'wasm', 'cpu'] : [wanted, ...(wanted === 'cpu' ? [] : ['cpu'])];
  for (const name of order) {
    if (name === 'webgpu' && !('gpu' in navigator)) continue;
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no TensorFlow.js backend starts in this browser');
}

/** A line chart of the loss per batch-averaged epoch, drawn on a canvas. */
function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[], epochs: number): void {
  const g = canvas.getContext('2d')!;
  const { width, height } = canvas;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  if (losses.length === 0) return;
  const max = Math.max(...losses);
  const min = Math.min(...losses);
  const x = (i: number) => 20 + (i / Math.max(1, epochs - 1)) * (width - 30);
  const y = (v: number) => height - 15 - ((v - min) / Math.max(1e-9, max - min)) * (height - 30);
  g.strokeStyle = '#4c78a8';
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((v, i) => {
    if (i === 0) g.moveTo(x(i), y(v));
    else g.lineTo(x(i), y(v));
  });
  g.stroke();
  g.fillStyle = '#1d1d1f';
  g.font = '12px sans-serif';
  g.fillText(`loss ${losses.at(-1)!.toFixed(4)} (epoch ${losses.length})`, 24, 14);
}

/**
 * Train in the browser: a small stacked autoencoder (built through the variant plugin) on
 * MNIST training images with TensorFlow.js, with a live loss chart and reconstructions;
 * then exported to ONNX in the page and run through the runtime, next to tfjs's outputs.
 */
export const trainView: View = (root, ctx) => {
  const setup = panel(root, 'Train a small autoencoder here');
  const progress = panel(root, 'Loss and reconstructions');
  const exported = panel(root, 'Exported to ONNX in the page, run by the runtime');

  const backendSelect = el('select', { id: 'train-backend' });
  for (const b of ['auto', 'webgpu', 'wasm', 'cpu'])
    backendSelect.append(el('option', { value: b }, b));
  const backendLabel = el('label', {}, 'TensorFlow.js backend ');
  backendLabel.append(backendSelect);
  const epochsInput = el('input', {
    id: 'epochs',
    type: 'number',
    min: '1',
    max: '50',
    value: '5',
  });
  const epochsLabel = el('label', {}, 'Epochs ');
  epochsLabel.append(epochsInput);
  const start = el('button', { id: 'train', type: 'button' }, 'Train');
  const state = el('output', { id: 'train-status', 'aria-live': 'polite' });
  const controls = el('div', { class: 'controls' });
  controls.append(backendLabel, epochsLabel, start);
  setup.append(
    el(
      'p',
      {},
      `784-64-16-64-784 SELU (the stacked variant), Adam, batch 64, on ${ctx.index.trainImages} MNIST training images.`,
    ),
    controls,
    state,
  );

  const chart = chartCanvas('loss-chart', 'Training loss per epoch', 320, 160);
  const recon = imageCanvas(
    'train-recon',
    'Test images (top) and their reconstructions (bottom)',
    SHOWN * 28,
    56,
    3,
  );
  progress.append(chart, recon);
  const onnxRecon = imageCanvas(
    'onnx-recon',
    'Reconstructions by the exported ONNX model',
    SHOWN * 28,
    28,
    3,
  );
  const parity = el('output', { id: 'parity', 'aria-live': 'polite' });
  exported.append(onnxRecon, el('div'), parity);

  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const backend = await pickBackend(backendSelect.value);
      const train = await loadTestImages(ctx.index.trainImages, 'train');
      registerBuiltinVariants();
      const plugin = asTfjsPlugin(getVariant(VARIANT));
      const config = parseVariantOptions(plugin, OPTIONS);
      const model = plugin.trainer.build({ config, inputShape: [28, 28, 1], seed: 1 });
      const variables = [model.networks.encoder, model.networks.decoder].flatMap((n) =>
        n.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const optimizer = tf.train.adam(0.003);
      const epochs = Math.max(1, Math.min(50, Math.round(Number(epochsInput.value) || 5)));
      const x = new Float32Array(train.count * 784);
      for (let i = 0; i < train.count; i++) x.set(train.image(i), i * 784);
      const shown = new Float32Array(SHOWN * 784);
      for (let i = 0; i < SHOWN; i++) shown.set(ctx.data.image(i), i * 784);
      const shownTensor = tf.tensor4d(shown, [SHOWN, 28, 28, 1]);
      const losses: number[] = [];
      const batch = 64;
      const t0 = performance.now();
      try {
        for (let epoch = 1; epoch <= epochs; epoch++) {
          const order = tf.util.createShuffledIndices(train.count);
          let sum = 0;
          for (let s = 0; s < train.count; s += batch) {
            const idx = Array.from(order.subarray(s, Math.min(train.count, s + batch)));
            const xb = new Float32Array(idx.length * 784);
            idx.forEach((j, k) => {
              xb.set(x.subarray(j * 784, (j + 1) * 784), k * 784);
            });
            const cost = tf.tidy(() => {
              const input = tf.tensor4d(xb, [idx.length, 28, 28, 1]);
              return optimizer.minimize(
                () => lossParts(model.loss(input, true)).total,
                true,
                variables,
              )!;
            });
            sum += (await cost.data())[0]! * idx.length;
            cost.dispose();
          }
          if (!ctx.alive()) return;
          losses.push(sum / train.count);
          drawLoss(chart, losses, epochs);
          const out = tf.tidy(() => model.reconstruct(shownTensor));
          const r = (await out.data()) as Float32Array;
          out.dispose();
          const images = Array.from({ length: SHOWN }, (_, i) =>
            shown.subarray(i * 784, (i + 1) * 784),
          );
          drawImages(
            recon,
            [
              ...images,
              ...Array.from({ length: SHOWN }, (_, i) => r.subarray(i * 784, (i + 1) * 784)),
            ],
            SHOWN,
          );
          state.textContent = `epoch ${epoch}/${epochs} on ${backend}: loss ${losses.at(-1)!.toFixed(4)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`;
          chart.dataset.losses = JSON.stringify(losses);
        }
        // Export in the page, then run the ONNX graphs with the runtime.
        const files = Object.fromEntries(
          DEFAULT_ONNX_GRAPHS.map((g) => [
            g.role,
            layersToOnnx(
              describedGraphSpec(
                g,
                g.networks.map((n) => model.networks[n]!),
              ),
            ),
          ]),
        ) as Record<string, Uint8Array>;
        const metadata = {
          format: 'aekit-onnx/1',
          variant: VARIANT,
          inputShape: [28, 28, 1],
          codingShape: [OPTIONS.layers.at(-1)],
          normalization: { kind: 'unit', scale: 1 / 255, offset: 0 },
          outputActivation: 'sigmoid',
          capabilities: [],
          graphs: Object.fromEntries(
            DEFAULT_ONNX_GRAPHS.map((g) => [
              g.role,
              { file: `${g.role}.onnx`, input: g.inputName, output: g.outputName },
            ]),
          ),
        };
        const ae = await loadAutoencoder(
          {
            encoder: files.encoder!,
            decoder: files.decoder!,
            autoencoder: files.autoencoder!,
            metadata,
          },
          { device: ctx.store.device },
        );
        const viaOnnx = await ae.reconstruct({ data: shown, shape: [SHOWN, 28, 28, 1] });
        const tfOut = tf.tidy(() => model.reconstruct(shownTensor));
        const want = (await tfOut.data()) as Float32Array;
        tfOut.dispose();
        let worst = 0;
        for (let i = 0; i < want.length; i++)
          worst = Math.max(worst, Math.abs(want[i]! - viaOnnx.data[i]!));
        await ae.dispose();
        if (!ctx.alive()) return;
        drawImages(
          onnxRecon,
          Array.from({ length: SHOWN }, (_, i) => viaOnnx.data.subarray(i * 784, (i + 1) * 784)),
          SHOWN,
        );
        const kb = Object.values(files).reduce((n, f) => n + f.length, 0) / 1024;
        parity.textContent = `encoder, decoder and autoencoder graphs (${kb.toFixed(0)} KiB) run by ONNX Runtime on ${ae.info.device}: max |ONNX - TensorFlow.js| = ${worst.toExponential(2)}`;
        parity.dataset.maxDiff = String(worst);
        await ctx.store.addOwn('trained-here', { ...files, metadata } as never);
      } finally {
        shownTensor.dispose();
        optimizer.dispose();
        disposeNetworks(model.networks);
      }
    } catch (err) {
      state.textContent = `Training failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      start.disabled = false;
    }
  });
  return undefined;
};
