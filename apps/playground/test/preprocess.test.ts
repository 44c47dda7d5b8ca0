import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOX,
  blockMean,
  centreOfMass,
  SIDE,
  type Stroke,
  strokesToMnist,
} from '../src/preprocess.js';

/** The smallest box holding the pixels above `threshold`: [width, height]. */
function inkBox(image: Float32Array, threshold = 0.05): [number, number] {
  let [left, right, top, bottom] = [SIDE, -1, SIDE, -1];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      if (image[y * SIDE + x]! <= threshold) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return [right - left + 1, bottom - top + 1];
}

const point = fc.tuple(
  fc.double({ min: 0, max: 280, noNaN: true }),
  fc.double({ min: 0, max: 280, noNaN: true }),
);
const strokes = fc.array(fc.array(point, { minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 4,
});

describe('drawings made into MNIST digits', () => {
  it('a "7" drawn small in a corner comes out as one drawn large in the middle', () => {
    const seven = (x: number, y: number, size: number): Stroke[] => [
      [
        [x, y],
        [x + size, y],
        [x + size * 0.45, y + size * 1.1],
      ],
    ];
    const small = strokesToMnist(seven(10, 10, 60));
    const large = strokesToMnist(seven(40, 20, 200));
    // The same shape at the same place and size: equal up to rounding.
    for (let i = 0; i < small.length; i++) expect(small[i]).toBeCloseTo(large[i]!, 4);
    // The small one is enlarged to MNIST's size, its centre of mass moved to the middle.
    expect(Math.max(...inkBox(small))).toBeGreaterThanOrEqual(BOX - 1);
    expect(centreOfMass(small)![0]).toBeCloseTo(SIDE / 2, 1);
  });

  it('every drawing: values in [0, 1], centre of mass in the middle, ink inside a 20x20 box touching it', () => {
    fc.assert(
      fc.property(strokes, (drawn) => {
        const image = strokesToMnist(drawn);
        expect(image.every((v) => v >= 0 && v <= 1)).toBe(true);
        const com = centreOfMass(image)!;
        // Within a tenth of a pixel of the centre (the pen's edge is a ramp, not exact).
        expect(Math.abs(com[0] - SIDE / 2)).toBeLessThan(0.1);
        expect(Math.abs(com[1] - SIDE / 2)).toBeLessThan(0.1);
        const [w, h] = inkBox(image);
        expect(Math.max(w, h)).toBeLessThanOrEqual(BOX + 1);
        // Drawings larger than the smallest enlarged size fill the box along their longer side.
        const xs = drawn.flat().map((p) => p[0]);
        const ys = drawn.flat().map((p) => p[1]);
        const extent = Math.max(
          Math.max(...xs) - Math.min(...xs),
          Math.max(...ys) - Math.min(...ys),
        );
        if (extent >= 40) expect(Math.max(w, h)).toBeGreaterThanOrEqual(BOX - 1);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('no strokes give a blank image; a dot stays a dot', () => {
    expect(strokesToMnist([]).every((v) => v === 0)).toBe(true);
    const dot = strokesToMnist([[[100, 100]]]);
    const [w, h] = inkBox(dot);
    // The pen's width (2.5 pixels) and its soft edge.
    expect(Math.max(w, h)).toBeLessThanOrEqual(4);
  });

  it('block means: each image pixel is the mean of its 10x10 block of the pad', () => {
    const pad = new Float32Array(280 * 280);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 5; x++) pad[y * 280 + 20 + x] = 1;
    const image = blockMean(pad, 280);
    expect(image[2]).toBeCloseTo(0.5, 6);
    expect(image.reduce((s, v) => s + v, 0)).toBeCloseTo(0.5, 6);
  });
});
