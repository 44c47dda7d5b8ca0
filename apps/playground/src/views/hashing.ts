import { unpackBits } from '@aekit/runtime-web';
import { DrawingPad, drawImages, imageCanvas } from '../canvas.js';
import { el, latest, panel, testImagePicker, type View } from '../ui.js';

/** Neighbours shown. */
const K = 8;

/** Semantic hashing: the input's bits and its nearest test images by Hamming distance. */
export const hashingView: View = (root, ctx) => {
  const model = ctx.index.models.find((m) => m.capabilities.includes('hash'))!;
  const input = panel(root, 'Input');
  const codePanel = panel(root, 'Hash code');
  const near = panel(root, `Nearest ${K} test images by Hamming distance`);
  const bits = el('div', { id: 'bits', class: 'bits', role: 'img' });
  const hex = el('output', { id: 'code' });
  codePanel.append(bits, hex);
  const list = el('ol', { id: 'neighbours', class: 'neighbours' });
  near.append(list);

  const run = latest(async (pixels: Float32Array) => {
    const ae = await ctx.store.get(model.name);
    const index = await ctx.store.hashIndex(model.name, model.hashIndex!);
    const codes = await ae.hash(pixels);
    const [found] = await ae.nearest(pixels, index, { k: K });
    if (!ctx.alive()) return;
    const b = unpackBits(codes, 0);
    bits.replaceChildren(...Array.from(b, (v) => el('span', { class: v ? 'on' : '' })));
    bits.setAttribute('aria-label', `Code bits: ${Array.from(b).join('')}`);
    hex.textContent = Array.from(b).join('');
    list.replaceChildren(
      ...Array.from(found!.indices, (item, j) => {
        const li = el('li', {
          'data-item': String(item),
          'data-distance': String(found!.distances[j]),
          'data-label': String(found!.labels?.[j] ?? ''),
        });
        const c = imageCanvas(
          `neighbour-${j}`,
          `Test image ${item}, label ${found!.labels?.[j]}`,
          28,
          28,
          2,
        );
        drawImages(c, [ctx.data.image(item)]);
        li.append(c, el('div', {}, `d ${found!.distances[j]} · ${found!.labels?.[j] ?? '?'}`));
        return li;
      }),
    );
    list.dataset.ready = 'true';
  });
  const pad = new DrawingPad(run);
  input.append(
    pad.canvas,
    testImagePicker(ctx, (i) => pad.show(ctx.data.image(i)), 3),
  );
  return undefined;
};
