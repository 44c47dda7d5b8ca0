import { chartCanvas, DrawingPad, drawBars } from '../canvas.js';
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

/** Test images whose mean coding is each unit's baseline. */
const BASELINE_IMAGES = 100;

/** A unit fires when its coding is above this many times its mean over the baseline images. */
export const FIRING_RATIO = 2;

const baselines = new Map<string, Promise<Float32Array>>();

/** Each unit's mean coding over the first test images (once per model). */
function baseline(ctx: ViewContext, model: ModelEntry): Promise<Float32Array> {
  let means = baselines.get(model.name);
  if (!means) {
    means = (async () => {
      const ae = await ctx.store.get(model.name);
      const n = Math.min(BASELINE_IMAGES, ctx.data.count);
      const x = new Float32Array(n * 784);
      for (let i = 0; i < n; i++) x.set(ctx.data.image(i), i * 784);
      const z = await ae.encode({ data: x, shape: [n, 28, 28, 1] });
      const d = z.data.length / n;
      const mean = new Float32Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += z.data[i * d + j]! / n;
      return mean;
    })();
    baselines.set(model.name, means);
  }
  return means;
}

/**
 * Sparse and winner-take-all models: which coding units fire for the input, i.e. are well
 * above their usual level (a sparse autoencoder's units all average the sparsity target, so
 * what matters is which ones rise above it).
 */
export const unitsView: View = (root, ctx) => {
  const sparseModels = (m: ModelEntry) => m.variant === 'sparse' || m.variant === 'wta';
  let model = ctx.index.models.find(sparseModels)!;
  const input = panel(root, 'Input');
  const out = panel(root, 'Coding units');
  const bars = chartCanvas(
    'units',
    `Each coding unit's value; red where it fires (above ${FIRING_RATIO} times its mean)`,
    512,
    160,
  );
  const active = el('output', { id: 'active', 'aria-live': 'polite' });
  out.append(bars, el('div'), active);
  const run = latest(async (pixels: Float32Array) => {
    const ae = await ctx.store.get(model.name);
    const means = await baseline(ctx, model);
    const z = await ae.encode(pixels);
    if (!ctx.alive()) return;
    const fires = (j: number) => z.data[j]! > 0 && z.data[j]! > FIRING_RATIO * means[j]!;
    let j = -1;
    drawBars(bars, z.data, () => fires(++j));
    const firing = Array.from(z.data).filter((_, k) => fires(k)).length;
    active.textContent = `${firing} of ${z.data.length} units fire (above ${FIRING_RATIO}x their mean over ${BASELINE_IMAGES} test images)`;
    active.dataset.firing = String(firing);
    active.dataset.units = String(z.data.length);
  });
  const pad = new DrawingPad(run);
  const top = el('div', { class: 'controls' });
  top.append(
    modelSelect(ctx, sparseModels, (m) => {
      model = m;
      run(pad.pixels());
    }),
  );
  input.append(
    top,
    pad.canvas,
    testImagePicker(ctx, (i) => pad.show(ctx.data.image(i))),
  );
  return undefined;
};
