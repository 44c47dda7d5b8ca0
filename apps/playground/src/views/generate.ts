import { drawImages, imageCanvas } from '../canvas.js';
import type { ModelEntry } from '../models.js';
import { el, latest, modelSelect, panel, type View } from '../ui.js';

/** The extent of the latent plane: codings from -EXTENT to EXTENT on both axes. */
const EXTENT = 3;

/**
 * Generative models (VAE, adversarial): a grid of samples from the prior (seeded, with a
 * re-sample button), a 2-D latent plane decoded where the pointer is (arrow keys move it
 * too), and the straight line between two test images' codings.
 */
export const generateView: View = (root, ctx) => {
  const canSample = (m: ModelEntry) => m.capabilities.includes('sample');
  const flat = (m: ModelEntry) => m.codingShape.length === 1 && m.codingShape[0] === 2;
  let model =
    ctx.index.models.find((m) => canSample(m) && flat(m)) ?? ctx.index.models.find(canSample)!;
  const head = panel(root, 'Model');
  const samplesPanel = panel(root, 'Samples from the prior');
  const planePanel = panel(root, 'Latent plane');
  const linePanel = panel(root, 'Interpolation');

  // Samples.
  const samples = imageCanvas(
    'samples',
    'Samples decoded from codings drawn from the prior',
    8 * 28,
    4 * 28,
    2,
  );
  const seed = el('input', { id: 'seed', type: 'number', min: '0', value: '1' });
  const seedLabel = el('label', {}, 'Seed ');
  seedLabel.append(seed);
  const resample = el('button', { id: 'resample', type: 'button' }, 'Sample');
  const sample = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const s = await ae.sample(32, { seed: Math.max(0, Math.floor(Number(seed.value) || 0)) });
    if (!ctx.alive()) return;
    drawImages(
      samples,
      Array.from({ length: 32 }, (_, i) => s.data.subarray(i * 784, (i + 1) * 784)),
      8,
    );
    samples.dataset.seed = String(s.seed);
  });
  resample.addEventListener('click', () => {
    seed.value = String(Number(seed.value) + 1);
    sample();
  });
  seed.addEventListener('change', () => sample());
  const controls = el('div', { class: 'controls' });
  controls.append(seedLabel, resample);
  samplesPanel.append(samples, controls);

  // Latent plane.
  const plane = el('canvas', {
    id: 'plane',
    class: 'chart',
    tabindex: '0',
    role: 'application',
    'aria-label': `Latent plane from -${EXTENT} to ${EXTENT}: move the pointer, or the arrow keys, to decode that coding`,
  });
  plane.width = 240;
  plane.height = 240;
  const decoded = imageCanvas('decoded', 'The image decoded at the chosen coding', 28, 28, 8);
  const where = el('output', { id: 'plane-coding' });
  let point: [number, number] = [0, 0];
  const drawPlane = () => {
    const g = plane.getContext('2d')!;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 240, 240);
    g.strokeStyle = '#ddd';
    for (let k = -EXTENT; k <= EXTENT; k++) {
      const p = ((k + EXTENT) / (2 * EXTENT)) * 240;
      g.beginPath();
      g.moveTo(p, 0);
      g.lineTo(p, 240);
      g.moveTo(0, p);
      g.lineTo(240, p);
      g.stroke();
    }
    const [x, y] = point.map((v) => ((v + EXTENT) / (2 * EXTENT)) * 240) as [number, number];
    g.fillStyle = '#d62728';
    g.beginPath();
    g.arc(x, 240 - y, 5, 0, 2 * Math.PI);
    g.fill();
  };
  const decode = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const out = await ae.decode({ data: Float32Array.from(point), shape: [1, 2] });
    if (!ctx.alive()) return;
    drawImages(decoded, [out.data]);
    where.textContent = `coding (${point[0].toFixed(2)}, ${point[1].toFixed(2)})`;
    decoded.dataset.coding = point.join(',');
  });
  const moveTo = (p: [number, number]) => {
    point = p.map((v) => Math.max(-EXTENT, Math.min(EXTENT, v))) as [number, number];
    drawPlane();
    decode();
  };
  plane.addEventListener('pointermove', (e) => {
    const r = plane.getBoundingClientRect();
    moveTo([
      ((e.clientX - r.left) / r.width) * 2 * EXTENT - EXTENT,
      EXTENT - ((e.clientY - r.top) / r.height) * 2 * EXTENT,
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
  planePanel.append(plane, decoded, where);

  // Interpolation between two test images.
  const line = imageCanvas(
    'interpolation',
    'Images decoded along the line between two codings',
    10 * 28,
    28,
    2,
  );
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
  const fromLabel = el('label', {}, 'From test image ');
  fromLabel.append(from);
  const toLabel = el('label', {}, 'to ');
  toLabel.append(to);
  const go = el('button', { id: 'interpolate', type: 'button' }, 'Interpolate');
  const interpolate = latest(async () => {
    const ae = await ctx.store.get(model.name);
    const a = ctx.data.image(Number(from.value) || 0);
    const b = ctx.data.image(Number(to.value) || 0);
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
    line.dataset.ready = 'true';
  });
  go.addEventListener('click', () => interpolate());
  const lineControls = el('div', { class: 'controls' });
  lineControls.append(fromLabel, toLabel, go);
  linePanel.append(line, lineControls);

  // The plane is for 2-D codings; sampling and interpolation work for any.
  const showPlane = () => {
    planePanel.hidden = !flat(model);
    if (flat(model)) decode();
  };
  head.append(
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
