import { drawImages, imageCanvas, pendingCanvas } from '../canvas.js';
import { chartCanvas, describeValues, drawBars, formatNumber } from '../charts.js';
import { DrawingPad, pixelSum } from '../drawing-pad.js';
import type { ModelEntry } from '../models.js';
import { meanSquaredError } from '../train/measure.js';
import {
  el,
  intro,
  latest,
  modelSelect,
  panel,
  testImagePicker,
  type View,
  type ViewContext,
} from '../ui.js';

/** The name under which a visitor's own model is loaded. */
export const OWN_MODEL = 'your-model';

/**
 * A file input (and drop target) for a visitor's own exported model: encoder.onnx and
 * decoder.onnx from `aekit export` (or any ONNX pair of 784 inputs), with aekit.json and
 * autoencoder.onnx when given. On success the view switches to it.
 */
function ownModelInput(ctx: ViewContext, use: (m: ModelEntry) => void): HTMLElement {
  const box = el('div', { class: 'drop' });
  const label = el('label', { class: 'field' });
  const input = el('input', { id: 'own-model', type: 'file', multiple: '', accept: '.onnx,.json' });
  label.append(input);
  const result = el('output', { id: 'own-status', class: 'readout', 'aria-live': 'polite' });
  const load = async (files: readonly File[]) => {
    const byName = new Map(files.map((f) => [f.name, f]));
    const bytes = async (name: string) => {
      const f = byName.get(name);
      return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
    };
    try {
      const encoder = await bytes('encoder.onnx');
      const decoder = await bytes('decoder.onnx');
      if (!encoder || !decoder) throw new Error('choose at least encoder.onnx and decoder.onnx');
      const autoencoder = await bytes('autoencoder.onnx');
      const meta = byName.get('aekit.json');
      const ae = await ctx.store.addOwn(OWN_MODEL, {
        encoder,
        decoder,
        ...(autoencoder ? { autoencoder } : {}),
        ...(meta ? { metadata: JSON.parse(await meta.text()) } : {}),
      });
      if (ae.info.inputShape.reduce((a, b) => a * b, 1) !== 784) {
        throw new Error(
          `the model takes [${ae.info.inputShape.join(', ')}]; the playground draws 28x28 digits`,
        );
      }
      result.textContent = `loaded your ${ae.info.variant ?? 'ONNX'} model: codings [${ae.info.codingShape.join(', ')}]`;
      result.dataset.loaded = 'true';
      use({
        name: OWN_MODEL,
        title: 'Your model',
        variant: ae.info.variant ?? 'onnx',
        capabilities: ae.info.capabilities,
        codingShape: ae.info.codingShape,
      });
    } catch (err) {
      result.textContent = `Could not load your model: ${err instanceof Error ? err.message : String(err)}`;
      result.dataset.loaded = 'false';
    }
  };
  input.addEventListener('change', () => void load([...(input.files ?? [])]));
  box.addEventListener('dragover', (e) => e.preventDefault());
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    void load([...(e.dataTransfer?.files ?? [])]);
  });
  box.append(
    label,
    el(
      'p',
      {},
      'Choose or drop encoder.onnx and decoder.onnx from aekit export (aekit.json too, for its name and input scale).',
    ),
    result,
  );
  return box;
}

/**
 * Draw a digit (or pick a test image) and see its coding and its reconstruction, live while
 * drawing, with the time each inference takes.
 */
export const reconstructView: View = (root, ctx) => {
  let model = ctx.index.models.find((m) => m.name === 'stacked') ?? ctx.index.models[0]!;
  const toolbar = intro(
    root,
    'Reconstruct',
    'The encoder squeezes the 784 pixels of a digit into a coding of a few numbers (32 for the stacked model), and the decoder redraws the digit from those numbers alone. Draw a digit on the pad or pick a test image, then switch models to compare what survives the squeeze.',
  );
  const input = panel(root, 'Input');
  const coding = panel(root, 'Coding');
  const output = panel(root, 'Reconstruction');
  const own = panel(root, 'Your own model', true);

  const bars = chartCanvas('codings', 'Coding values as bars, one per coding unit', 320, 220);
  const pendingBars = pendingCanvas(bars, 'The coding of the input shows here.');
  const size = el('p', { id: 'coding-size' });
  coding.append(pendingBars.element, size);
  const recon = imageCanvas('reconstruction', 'Reconstruction of the input', 28, 28, 7);
  const pendingRecon = pendingCanvas(recon, 'The decoder draws its reconstruction here.');
  const error = el('output', { id: 'recon-mse', class: 'readout', 'aria-live': 'polite' });
  const timing = el('output', { id: 'timing', class: 'muted', 'aria-live': 'off' });
  output.append(pendingRecon.element, error, timing);

  const run = latest(async (pixels: Float32Array) => {
    const name = model.name;
    const ae = await ctx.store.get(name);
    const t0 = performance.now();
    const z = await ae.encode(pixels);
    const x = await ae.decode(z);
    const ms = performance.now() - t0;
    if (!ctx.alive()) return;
    drawBars(bars, z.data);
    bars.setAttribute('aria-label', `Coding, one bar per unit: ${describeValues(z.data)}`);
    pendingBars.reveal();
    size.textContent = `${z.data.length} numbers${z.shape.length > 2 ? ` (${z.shape.slice(1).join(' × ')})` : ''} stand for the 784 pixels.`;
    drawImages(recon, [x.data]);
    pendingRecon.reveal();
    // Which input this reconstruction is of (the pad's preview carries the same stamp).
    recon.dataset.inputSum = pixelSum(pixels);
    recon.dataset.ready = 'true';
    // Against what the model was given: the pixels as the pad hands them over.
    const mse = meanSquaredError(pixels, x.data);
    error.textContent = `Reconstruction error: MSE ${formatNumber(mse)} against the input`;
    error.dataset.mse = String(mse);
    timing.textContent = `encode + decode: ${formatNumber(ms)} ms on ${ae.info.device}`;
    timing.dataset.ms = String(ms);
    // Which model drew the reconstruction (a run in flight may finish after a switch).
    timing.dataset.model = name;
  });
  const pad = new DrawingPad(run);
  const clear = el('button', { id: 'clear', type: 'button' }, 'Clear');
  clear.addEventListener('click', () => pad.clear());
  toolbar.append(
    modelSelect(
      ctx,
      (m) => !m.capabilities.includes('hash'),
      (m) => {
        model = m;
        run(pad.pixels());
      },
    ),
  );
  const picker = testImagePicker(ctx, (i) => pad.show(ctx.data.image(i)), 0, pad.element);
  picker.append(clear);
  own.append(
    ownModelInput(ctx, (m) => {
      model = m;
      run(pad.pixels());
    }),
  );
  input.append(pad.element, picker);
  return undefined;
};
