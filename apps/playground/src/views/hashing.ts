import { unpackBits } from '@aekit/runtime-web';
import { drawImages, imageCanvas } from '../canvas.js';
import { DrawingPad } from '../drawing-pad.js';
import { el, intro, latest, panel, testImagePicker, type View } from '../ui.js';

/** Neighbours shown. */
const K = 8;

/** Bits (first bit first) as hexadecimal, four bits a digit. */
function hexOf(bits: ArrayLike<number>): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 4) {
    let nibble = 0;
    for (let j = i; j < i + 4; j++) nibble = (nibble << 1) | (j < bits.length && bits[j] ? 1 : 0);
    hex += nibble.toString(16);
  }
  return `0x${hex}`;
}

/** How far a neighbour's code is from the input's, in words. */
const away = (d: number) => (d === 0 ? 'same code' : `${d} bit${d === 1 ? '' : 's'} away`);

/** Semantic hashing: the input's bits and its nearest test images by Hamming distance. */
export const hashingView: View = (root, ctx) => {
  const model = ctx.index.models.find((m) => m.capabilities.includes('hash'))!;
  const size = model.codingShape.reduce((a, b) => a * b, 1);
  intro(
    root,
    'Hashing',
    `Semantic hashing: the encoder turns a digit into a short binary code, ${size} bits here, and similar digits get codes only a few bits apart, so finding look-alikes is a matter of counting differing bits. Draw a digit or pick a test image to see its code and the nearest test images.`,
  );
  const input = panel(root, 'Input');
  // The code above its neighbours, beside the input on a wide screen.
  const side = el('div', { class: 'stack' });
  root.append(side);
  const codePanel = panel(side, 'Hash code');
  const near = panel(side, `Nearest ${K} test images by Hamming distance`);
  const bits = el('div', { id: 'bits', class: 'bits', role: 'img' });
  const hex = el('output', { id: 'code', class: 'code' });
  const count = el('p', { id: 'bit-count' }, `${size} bits, first bit top left; filled = 1.`);
  const waiting = [
    el('p', { class: 'placeholder' }, 'The code of the input shows here.'),
    el('p', { class: 'placeholder' }, 'The test images with the nearest codes show here.'),
  ];
  codePanel.append(waiting[0]!, bits, count, hex);
  const list = el('ol', { id: 'neighbours', class: 'neighbours' });
  near.append(waiting[1]!, list);

  const run = latest(async (pixels: Float32Array) => {
    const ae = await ctx.store.get(model.name);
    const index = await ctx.store.hashIndex(model.name, model.hashIndex!);
    const codes = await ae.hash(pixels);
    const [found] = await ae.nearest(pixels, index, { k: K });
    if (!ctx.alive()) return;
    const b = unpackBits(codes, 0);
    bits.replaceChildren(...Array.from(b, (v) => el('span', { class: v ? 'on' : '' })));
    bits.setAttribute('aria-label', `Code bits: ${Array.from(b).join('')}`);
    count.textContent = `${b.length} bits, first bit top left; filled = 1.`;
    hex.textContent = `code ${hexOf(b)}`;
    hex.dataset.bits = Array.from(b).join('');
    list.replaceChildren(
      ...Array.from(found!.indices, (item, j) => {
        const distance = found!.distances[j]!;
        const label = found!.labels?.[j];
        const li = el('li', {
          'data-item': String(item),
          'data-distance': String(distance),
          'data-label': String(label ?? ''),
        });
        const c = imageCanvas(
          `neighbour-${j}`,
          `Test image ${item}, label ${label ?? 'unknown'}, ${away(distance)}`,
          28,
          28,
          2,
        );
        drawImages(c, [ctx.data.image(item)]);
        const caption = el('span');
        caption.append(el('strong', {}, `label ${label ?? '?'}`), el('br'), away(distance));
        li.append(c, caption);
        return li;
      }),
    );
    for (const w of waiting) w.hidden = true;
    list.dataset.ready = 'true';
  });
  const pad = new DrawingPad(run);
  input.append(
    pad.element,
    testImagePicker(ctx, (i) => pad.show(ctx.data.image(i)), 3, pad.element),
  );
  return undefined;
};
