import { pendingCanvas } from '../canvas.js';
import { chartCanvas, describeValues, drawBars } from '../charts.js';
import { DrawingPad } from '../drawing-pad.js';
import type { ModelEntry } from '../models.js';
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

/** Test images whose mean coding is each unit's baseline. */
const BASELINE_IMAGES = 100;

/** A unit fires when its coding is above this many times its mean over the baseline images. */
export const FIRING_RATIO = 2;

/** Each unit's mean coding over the first test images. */
async function baseline(ctx: ViewContext, model: ModelEntry): Promise<Float32Array> {
  const n = Math.min(BASELINE_IMAGES, ctx.data.count);
  const z = await ctx.store.testCodings(model.name, ctx.data, n);
  const d = z.length / n;
  const mean = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += z[i * d + j]! / n;
  return mean;
}

/**
 * Sparse and winner-take-all models: which coding units fire for the input, i.e. are well
 * above their usual level (a sparse autoencoder's units all average the sparsity target, so
 * what matters is which ones rise above it).
 */
export const unitsView: View = (root, ctx) => {
  const sparseModels = (m: ModelEntry) => m.variant === 'sparse' || m.variant === 'wta';
  let model = ctx.index.models.find(sparseModels)!;
  const toolbar = intro(
    root,
    'Sparse units',
    `A sparse autoencoder is trained to keep most of its coding units quiet, so each digit lights up only a few of them; a winner-take-all one keeps only the strongest. Draw or pick a digit: the units in red fire, at more than ${FIRING_RATIO} times their usual level.`,
  );
  const input = panel(root, 'Input');
  const out = panel(root, 'Coding units');
  const bars = chartCanvas(
    'units',
    `Each coding unit's value; red where it fires (above ${FIRING_RATIO} times its mean)`,
    600,
    240,
  );
  const pendingBars = pendingCanvas(bars, "The coding units' values show here.");
  const active = el('output', { id: 'active', class: 'readout', 'aria-live': 'polite' });
  out.append(pendingBars.element, active);
  const run = latest(async (pixels: Float32Array) => {
    const ae = await ctx.store.get(model.name);
    const means = await baseline(ctx, model);
    const z = await ae.encode(pixels);
    if (!ctx.alive()) return;
    const fires = (j: number) => z.data[j]! > 0 && z.data[j]! > FIRING_RATIO * means[j]!;
    drawBars(bars, z.data, (_, j) => fires(j));
    bars.setAttribute(
      'aria-label',
      `Each coding unit's value, red where it fires (above ${FIRING_RATIO} times its mean): ${describeValues(z.data)}`,
    );
    pendingBars.reveal();
    const firing = Array.from(z.data).filter((_, k) => fires(k)).length;
    active.textContent = `${firing} of ${z.data.length} units fire (in red: above ${FIRING_RATIO}× their mean over ${BASELINE_IMAGES} test images)`;
    active.dataset.firing = String(firing);
    active.dataset.units = String(z.data.length);
  });
  const pad = new DrawingPad(run);
  toolbar.append(
    modelSelect(ctx, sparseModels, (m) => {
      model = m;
      run(pad.pixels());
    }),
  );
  input.append(
    pad.element,
    testImagePicker(ctx, (i) => pad.show(ctx.data.image(i)), 0, pad.element),
  );
  return undefined;
};
