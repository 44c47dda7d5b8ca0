import { chartCanvas, DrawingPad, drawBars, drawImages, imageCanvas } from '../canvas.js';
import type { ModelEntry } from '../models.js';
import {
  el,
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
  const box = el('div', { class: 'controls' });
  const label = el('label', {}, 'Your model (encoder.onnx, decoder.onnx, aekit.json) ');
  const input = el('input', { id: 'own-model', type: 'file', multiple: '', accept: '.onnx,.json' });
  label.append(input);
  const result = el('output', { id: 'own-status', 'aria-live': 'polite' });
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
  box.append(label, result);
  return box;
}

/**
 * Draw a digit (or pick a test image) and see its coding and its reconstruction, live while
 * drawing, with the time each inference takes.
 */
export const reconstructView: View = (root, ctx) => {
  let model = ctx.index.models.find((m) => m.name === 'stacked') ?? ctx.index.models[0]!;
  const input = panel(root, 'Input');
  const coding = panel(root, 'Coding');
  const output = panel(root, 'Reconstruction');

  const bars = chartCanvas('codings', 'Coding values as bars', 320, 160);
  const recon = imageCanvas('reconstruction', 'Reconstruction of the input', 28, 28, 10);
  const timing = el('output', { id: 'timing', 'aria-live': 'off' });
  coding.append(bars);
  output.append(recon, el('div', { class: 'controls' }), timing);

  const run = latest(async (pixels: Float32Array) => {
    const name = model.name;
    const ae = await ctx.store.get(name);
    const t0 = performance.now();
    const z = await ae.encode(pixels);
    const x = await ae.decode(z);
    const ms = performance.now() - t0;
    if (!ctx.alive()) return;
    drawBars(bars, z.data);
    drawImages(recon, [x.data]);
    recon.dataset.ready = 'true';
    timing.textContent = `encode + decode: ${ms.toFixed(1)} ms on ${ae.info.device}`;
    timing.dataset.ms = String(ms);
    // Which model drew the reconstruction (a run in flight may finish after a switch).
    timing.dataset.model = name;
  });
  const pad = new DrawingPad(run);
  const clear = el('button', { id: 'clear', type: 'button' }, 'Clear');
  clear.addEventListener('click', () => pad.clear());
  const top = el('div', { class: 'controls' });
  top.append(
    modelSelect(
      ctx,
      (m) => !m.capabilities.includes('hash'),
      (m) => {
        model = m;
        run(pad.pixels());
      },
    ),
  );
  const picker = testImagePicker(ctx, (i) => pad.show(ctx.data.image(i)));
  picker.append(clear);
  const own = ownModelInput(ctx, (m) => {
    model = m;
    run(pad.pixels());
  });
  input.append(top, pad.canvas, picker, own);
  return undefined;
};
