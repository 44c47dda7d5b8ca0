import { normalDraws, seededUniform } from '@aekit/runtime-web';
import { drawImages, imageCanvas } from '../canvas.js';
import { el, latest, panel, testImagePicker, type View } from '../ui.js';

/** The same standard normal noise for an image each time: the runtime's seeded draws. */
function noiseFor(seed: number, n: number): Float32Array {
  return normalDraws(n, seededUniform(seed));
}

/** A noise slider corrupts a test image; the denoising autoencoder's output is beside it. */
export const denoiseView: View = (root, ctx) => {
  const model = ctx.index.models.find((m) => m.name === 'denoising') ?? ctx.index.models[0]!;
  const input = panel(root, 'Clean and corrupted input');
  const output = panel(root, `Output of the ${model.title.toLowerCase()}`);
  const clean = imageCanvas('clean', 'Clean test image', 28, 28, 6);
  const noisy = imageCanvas('noisy', 'Input with noise added', 28, 28, 6);
  const denoised = imageCanvas('denoised', 'The model output', 28, 28, 10);
  const slider = el('input', {
    id: 'noise',
    type: 'range',
    min: '0',
    max: '1',
    step: '0.05',
    value: '0.4',
  });
  const label = el('label', {}, 'Noise (standard deviation) ');
  const value = el('output', { id: 'noise-value' }, '0.4');
  label.append(slider, value);
  let index = 0;
  let image = ctx.data.image(0);

  const run = latest(async () => {
    const std = Number(slider.value);
    const noise = noiseFor(index + 1, 784);
    const x = Float32Array.from(image, (v, i) => Math.min(1, Math.max(0, v + std * noise[i]!)));
    const ae = await ctx.store.get(model.name);
    const y = await ae.reconstruct(x);
    if (!ctx.alive()) return;
    drawImages(clean, [image]);
    drawImages(noisy, [x]);
    drawImages(denoised, [y.data]);
    value.textContent = std.toFixed(2);
    denoised.dataset.noise = String(std);
  });
  slider.addEventListener('input', () => run());
  input.append(clean, noisy, el('div', { class: 'controls' }), label);
  input.append(
    testImagePicker(ctx, (i) => {
      index = i;
      image = ctx.data.image(i);
      run();
    }),
  );
  output.append(denoised);
  return undefined;
};
