import { normalDraws, seededUniform } from '@aekit/runtime-web';
import { drawImages, imageCanvas, pendingCanvas } from '../canvas.js';
import { formatNumber } from '../charts.js';
import { meanSquaredError } from '../train/measure.js';
import { el, figure, intro, latest, panel, testImagePicker, type View } from '../ui.js';

/** The same standard normal noise for an image each time: the runtime's seeded draws. */
function noiseFor(seed: number, n: number): Float32Array {
  return normalDraws(n, seededUniform(seed));
}

/** A noise slider corrupts a test image; the denoising autoencoder's output is beside it. */
export const denoiseView: View = (root, ctx) => {
  const model = ctx.index.models.find((m) => m.name === 'denoising') ?? ctx.index.models[0]!;
  intro(
    root,
    'Denoise',
    'A denoising autoencoder learned to give back the clean digit from a corrupted one: it was trained on digits with noise added, against the originals. Slide the noise up and compare each image with the clean one (mean squared error, lower is closer).',
  );
  const input = panel(root, 'Clean and corrupted input');
  const output = panel(root, `Output of the ${model.title.toLowerCase()}`);
  const clean = imageCanvas('clean', 'Clean test image', 28, 28, 6);
  const noisy = imageCanvas('noisy', 'Input with noise added', 28, 28, 6);
  const denoised = imageCanvas('denoised', 'The model output', 28, 28, 8);
  const pending = [
    pendingCanvas(clean, 'The clean test image'),
    pendingCanvas(noisy, 'The same with noise'),
    pendingCanvas(denoised, 'The model removes the noise here.'),
  ];
  const slider = el('input', {
    id: 'noise',
    type: 'range',
    min: '0',
    max: '1',
    step: '0.05',
    value: '0.4',
  });
  const label = el('label', { class: 'field' }, 'Noise (standard deviation) ');
  const value = el('output', { id: 'noise-value', class: 'badge' }, '0.4');
  label.append(slider, value);
  const noisyError = el('span');
  const error = el('output', { id: 'denoise-mse', class: 'readout', 'aria-live': 'polite' });
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
    for (const p of pending) p.reveal();
    value.textContent = std.toFixed(2);
    const before = meanSquaredError(x, image);
    const after = meanSquaredError(y.data, image);
    noisyError.textContent = ` · MSE ${formatNumber(before)}`;
    error.textContent = `noisy input: MSE ${formatNumber(before)} · denoised: MSE ${formatNumber(after)}`;
    error.dataset.noisyMse = String(before);
    error.dataset.denoisedMse = String(after);
    denoised.dataset.noise = String(std);
  });
  slider.addEventListener('input', () => run());
  const noisyCaption = el('span', {}, 'With noise');
  noisyCaption.append(noisyError);
  const images = el('div', { class: 'row' });
  images.append(figure(pending[0]!.element, 'Clean'), figure(pending[1]!.element, noisyCaption));
  input.append(
    images,
    label,
    testImagePicker(ctx, (i) => {
      index = i;
      image = ctx.data.image(i);
      run();
    }),
  );
  output.append(pending[2]!.element, error);
  return undefined;
};
