import { DrawingPad, drawBars, drawImages, imageCanvas } from '../canvas.js';
import { el, latest, modelSelect, panel, testImagePicker, type View } from '../ui.js';

/**
 * Draw a digit (or pick a test image) and see its coding and its reconstruction, live while
 * drawing, with the time each inference takes.
 */
export const reconstructView: View = (root, ctx) => {
  let model = ctx.index.models.find((m) => m.name === 'stacked') ?? ctx.index.models[0]!;
  const input = panel(root, 'Input');
  const coding = panel(root, 'Coding');
  const output = panel(root, 'Reconstruction');

  const bars = el('canvas', {
    id: 'codings',
    class: 'chart',
    role: 'img',
    'aria-label': 'Coding values as bars',
  });
  bars.width = 320;
  bars.height = 160;
  const recon = imageCanvas('reconstruction', 'Reconstruction of the input', 28, 28, 10);
  const timing = el('output', { id: 'timing', 'aria-live': 'off' });
  coding.append(bars);
  output.append(recon, el('div', { class: 'controls' }), timing);

  const run = latest(async (pixels: Float32Array) => {
    const ae = await ctx.store.get(model.name);
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
  });
  const pad = new DrawingPad(run);
  const clear = el('button', { id: 'clear', type: 'button' }, 'Clear');
  clear.addEventListener('click', () => pad.clear());
  input.append(
    modelSelect(
      ctx,
      (m) => !m.capabilities.includes('hash'),
      (m) => {
        model = m;
        run(pad.pixels());
      },
    ),
    pad.canvas,
    testImagePicker(ctx, (i) => pad.show(ctx.data.image(i))),
    clear,
  );
  return undefined;
};
