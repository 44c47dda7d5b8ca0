import { drawImages, imageCanvas, pendingCanvas } from '../canvas.js';
import {
  type Axis,
  COLOURS,
  chartCanvas,
  drawAxes,
  formatNumber,
  LABEL_COLOURS,
  type Plot,
} from '../charts.js';
import type { ModelEntry } from '../models.js';
import { el, figure, intro, latest, modelSelect, panel, type View } from '../ui.js';

/** The extent of the latent plane: codings from -EXTENT to EXTENT on both axes. */
const EXTENT = 3;
const TICKS = Array.from({ length: 2 * EXTENT + 1 }, (_, i) => i - EXTENT);
const AXES: readonly [Axis, Axis] = [
  { min: -EXTENT, max: EXTENT, ticks: TICKS, name: 'z1' },
  { min: -EXTENT, max: EXTENT, ticks: TICKS, name: 'z2' },
];
/** Room around the plane's plotting area for tick values and axis names (CSS pixels). */
const MARGINS = { left: 40, right: 12, top: 12, bottom: 40 };
/** The plane's size in CSS pixels: a square plotting area of 268 pixels. */
const PLANE_WIDTH = 320;
const PLANE_HEIGHT = 320;

/** A key of the colours of the test digits' codings: one swatch per label. */
function labelLegend(): HTMLElement {
  const list = el('ul', { class: 'legend', 'aria-label': 'Colours of the test digits by label' });
  LABEL_COLOURS.forEach((colour, label) => {
    const item = el('li');
    const swatch = el('i', { 'aria-hidden': 'true' });
    swatch.style.background = colour;
    item.append(swatch, String(label));
    list.append(item);
  });
  return list;
}

/**
 * Generative models (VAE, adversarial): a grid of samples from the prior (seeded, with a
 * re-sample button), a 2-D latent plane decoded where the pointer is (arrow keys move it
 * too) over the test digits' codings, and the straight line between two test images'
 * codings.
 */
export const generateView: View = (root, ctx) => {
  const canSample = (m: ModelEntry) => m.capabilities.includes('sample');
  const flat = (m: ModelEntry) => m.codingShape.length === 1 && m.codingShape[0] === 2;
  let model =
    ctx.index.models.find((m) => canSample(m) && flat(m)) ?? ctx.index.models.find(canSample)!;
  const toolbar = intro(
    root,
    'Generate',
    'A generative autoencoder (variational or adversarial) learns codings spread like a known distribution, so any coding drawn from it decodes to a plausible digit; a generative stochastic network instead runs its denoising chain from noise. Draw new samples, move over the latent plane to decode any point of it, or walk the straight line between two test digits.',
  );
  const samplesPanel = panel(root, 'Samples from the prior');
  const planePanel = panel(root, 'Latent plane');
  const linePanel = panel(root, 'Interpolation', true);

  // Samples.
  const samples = imageCanvas(
    'samples',
    'Samples decoded from codings drawn from the prior',
    8 * 28,
    4 * 28,
    2,
  );
  const pendingSamples = pendingCanvas(samples, 'Samples from the model show here.');
  const seed = el('input', { id: 'seed', type: 'number', min: '0', value: '1' });
  const seedLabel = el('label', { class: 'field' }, 'Seed ');
  seedLabel.append(seed);
  const resample = el('button', { id: 'resample', type: 'button', class: 'primary' }, 'Sample');
  const sample = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const s = await ae.sample(32, { seed: Math.max(0, Math.floor(Number(seed.value) || 0)) });
    if (!ctx.alive()) return;
    drawImages(
      samples,
      Array.from({ length: 32 }, (_, i) => s.data.subarray(i * 784, (i + 1) * 784)),
      8,
    );
    pendingSamples.reveal();
    samples.dataset.seed = String(s.seed);
  });
  resample.addEventListener('click', () => {
    seed.value = String(Number(seed.value) + 1);
    sample();
  });
  seed.addEventListener('change', () => sample());
  const controls = el('div', { class: 'controls' });
  controls.append(seedLabel, resample);
  samplesPanel.append(
    pendingSamples.element,
    controls,
    el('p', {}, 'Each seed draws 32 codings from the prior; the decoder turns each into a digit.'),
  );

  // Latent plane.
  const plane = chartCanvas(
    'plane',
    `Latent plane from -${EXTENT} to ${EXTENT}: move the pointer, or the arrow keys, to decode that coding`,
    PLANE_WIDTH,
    PLANE_HEIGHT,
  );
  plane.setAttribute('role', 'application');
  plane.tabIndex = 0;
  const decoded = imageCanvas('decoded', 'The image decoded at the chosen coding', 28, 28, 6);
  const pendingDecoded = pendingCanvas(decoded, 'The digit at the point');
  const where = el('output', { id: 'plane-coding', class: 'readout' });
  let point: [number, number] = [0, 0];
  let dots: Float32Array | undefined;
  let area: Plot | undefined;
  const drawPlane = () => {
    area = drawAxes(plane, AXES[0], AXES[1], MARGINS);
    const { g } = area;
    if (dots) {
      g.save();
      g.beginPath();
      g.rect(area.left, area.top, area.width, area.height);
      g.clip();
      g.globalAlpha = 0.75;
      for (let i = 0; i < dots.length / 2; i++) {
        g.fillStyle = LABEL_COLOURS[ctx.data.labels[i]!] ?? COLOURS.muted;
        g.beginPath();
        g.arc(area.x(dots[2 * i]!), area.y(dots[2 * i + 1]!), 1.8, 0, 2 * Math.PI);
        g.fill();
      }
      g.restore();
    }
    const x = area.x(point[0]);
    const y = area.y(point[1]);
    g.strokeStyle = COLOURS.ink;
    g.setLineDash([3, 3]);
    g.beginPath();
    g.moveTo(x, area.top);
    g.lineTo(x, area.top + area.height);
    g.moveTo(area.left, y);
    g.lineTo(area.left + area.width, y);
    g.stroke();
    g.setLineDash([]);
    g.fillStyle = COLOURS.hot;
    g.strokeStyle = '#fff';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(x, y, 6, 0, 2 * Math.PI);
    g.fill();
    g.stroke();
    g.lineWidth = 1;
  };
  const decode = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const out = await ae.decode({ data: Float32Array.from(point), shape: [1, 2] });
    if (!ctx.alive()) return;
    drawImages(decoded, [out.data]);
    pendingDecoded.reveal();
    where.textContent = `z = (${formatNumber(point[0])}, ${formatNumber(point[1])})`;
    decoded.dataset.coding = point.join(',');
  });
  const moveTo = (p: [number, number]) => {
    point = p.map((v) => Math.max(-EXTENT, Math.min(EXTENT, v))) as [number, number];
    drawPlane();
    decode();
  };
  plane.addEventListener('pointermove', (e) => {
    if (!area) return;
    // From the pointer to the chart's CSS pixels (a phone may show it smaller), then to the
    // coding under it in the plotting area.
    const r = plane.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * PLANE_WIDTH;
    const py = ((e.clientY - r.top) / r.height) * PLANE_HEIGHT;
    moveTo([
      -EXTENT + ((px - area.left) / area.width) * 2 * EXTENT,
      EXTENT - ((py - area.top) / area.height) * 2 * EXTENT,
    ]);
  });
  plane.addEventListener('keydown', (e) => {
    const step = 0.25;
    const d: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, step],
      ArrowDown: [0, -step],
    };
    const move = d[e.key];
    if (!move) return;
    e.preventDefault();
    moveTo([point[0] + move[0], point[1] + move[1]]);
  });
  const planeBox = el('div', { class: 'row' });
  const side = el('div', { class: 'figure' });
  side.append(figure(pendingDecoded.element, 'Decoded at the point'), where);
  const planeFigure = el('div', { class: 'figure' });
  planeFigure.append(plane, labelLegend());
  planeBox.append(planeFigure, side);
  planePanel.append(
    planeBox,
    el(
      'p',
      {},
      "Dots: the test digits' codings, coloured by label. Move the pointer, or focus the plane and use the arrow keys.",
    ),
  );

  // Interpolation between two test images.
  const line = imageCanvas(
    'interpolation',
    'Images decoded along the line between two codings',
    10 * 28,
    28,
    2,
  );
  const pendingLine = pendingCanvas(
    line,
    'Pick two test images and press Interpolate: the digits decoded along the line between their codings show here.',
  );
  const ends = el('div', { class: 'ends', 'aria-live': 'polite' });
  const fromEnd = el('span', { id: 'from-end' });
  const toEnd = el('span', { id: 'to-end' });
  ends.append(fromEnd, toEnd);
  const lineFigure = el('div', { class: 'figure' });
  lineFigure.style.width = line.style.width;
  lineFigure.style.maxWidth = '100%';
  lineFigure.append(pendingLine.element, ends);
  const from = el('input', {
    id: 'from',
    type: 'number',
    min: '0',
    max: String(ctx.data.count - 1),
    value: '0',
  });
  const to = el('input', {
    id: 'to',
    type: 'number',
    min: '0',
    max: String(ctx.data.count - 1),
    value: '1',
  });
  const fromLabel = el('label', { class: 'field' }, 'From test image ');
  fromLabel.append(from);
  const toLabel = el('label', { class: 'field' }, 'to ');
  toLabel.append(to);
  const go = el('button', { id: 'interpolate', type: 'button', class: 'primary' }, 'Interpolate');
  const interpolate = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const ia = Number(from.value) || 0;
    const ib = Number(to.value) || 0;
    const a = ctx.data.image(ia);
    const b = ctx.data.image(ib);
    const z = await ae.encode({ data: Float32Array.from([...a, ...b]), shape: [2, 28, 28, 1] });
    const steps = 10;
    const d = z.data.length / 2;
    const codings = new Float32Array(steps * d);
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      for (let j = 0; j < d; j++) codings[s * d + j] = (1 - t) * z.data[j]! + t * z.data[d + j]!;
    }
    const out = await ae.decode({ data: codings, shape: [steps, ...z.shape.slice(1)] });
    if (!ctx.alive()) return;
    drawImages(
      line,
      Array.from({ length: steps }, (_, i) => out.data.subarray(i * 784, (i + 1) * 784)),
      steps,
    );
    pendingLine.reveal();
    fromEnd.textContent = `← test image ${ia} (label ${ctx.data.labels[ia]})`;
    toEnd.textContent = `test image ${ib} (label ${ctx.data.labels[ib]}) →`;
    line.dataset.ready = 'true';
  });
  go.addEventListener('click', () => interpolate());
  const lineControls = el('div', { class: 'controls' });
  lineControls.append(fromLabel, toLabel, go);
  linePanel.append(lineFigure, lineControls);

  // The plane is for 2-D codings; sampling and interpolation work for any.
  const showPlane = () => {
    planePanel.hidden = !flat(model);
    if (!flat(model)) return;
    dots = undefined;
    const mine = model;
    decode();
    void ctx.store.testCodings(mine.name, ctx.data).then(
      (z) => {
        if (!ctx.alive() || model !== mine) return;
        dots = z;
        drawPlane();
        // Without the dots the plane still works: nothing to report.
      },
      () => undefined,
    );
  };
  toolbar.append(
    modelSelect(ctx, canSample, (m) => {
      model = m;
      sample();
      showPlane();
    }),
  );
  drawPlane();
  sample();
  showPlane();
  return undefined;
};
