import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { aekitError, aekitErrorWithCause } from '../errors.js';

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Shape of one sample: `[h, w]`, `[h, w, 1]`, `[h, w, 3]`, or `[n]` (drawn as a strip). */
  readonly sampleShape: readonly number[];
  /** Pixels per value. */
  readonly scale?: number;
  /** Pixels between cells. */
  readonly gap?: number;
  /** Value drawn black and value drawn white (defaults: min and max of all rows). */
  readonly range?: readonly [number, number];
}

/**
 * Draws rows of samples as a grid image and encodes it as PNG (with pngjs). Each row of
 * `rows` is a list of samples (row-major values); a grey or RGB image per sample.
 */
export function imageGrid(
  rows: readonly (readonly Float32Array[])[],
  options: ImageGridOptions,
): Buffer {
  const shape = options.sampleShape;
  const [h, w, c] =
    shape.length >= 2 ? [shape[0]!, shape[1]!, shape[2] ?? 1] : [1, shape[0] ?? 1, 1];
  const scale =
    options.scale ??
    (shape.length >= 2
      ? Math.max(1, Math.round(84 / Math.max(h, w)))
      : Math.max(2, Math.round(120 / w)));
  const cellH = shape.length >= 2 ? h * scale : 24;
  const cellW = w * scale;
  const gap = options.gap ?? 2;
  const cols = Math.max(...rows.map((r) => r.length));
  const png = new PNG({
    width: cols * (cellW + gap) + gap,
    height: rows.length * (cellH + gap) + gap,
  });
  png.data.fill(255);
  let [lo, hi] = options.range ?? [Infinity, -Infinity];
  if (!options.range) {
    for (const row of rows)
      for (const s of row)
        for (const v of s) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
  }
  const span = hi > lo ? hi - lo : 1;
  const grey = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255)));
  rows.forEach((row, r) => {
    row.forEach((sample, col) => {
      const x0 = gap + col * (cellW + gap);
      const y0 = gap + r * (cellH + gap);
      for (let y = 0; y < cellH; y++) {
        const sy = shape.length >= 2 ? Math.floor(y / scale) : 0;
        for (let x = 0; x < cellW; x++) {
          const sx = Math.floor(x / scale);
          const base = (sy * w + sx) * c;
          const o = ((y0 + y) * png.width + (x0 + x)) * 4;
          const rgb =
            c === 3
              ? [sample[base]!, sample[base + 1]!, sample[base + 2]!]
              : [sample[base]!, sample[base]!, sample[base]!];
          png.data[o] = grey(rgb[0]!);
          png.data[o + 1] = grey(rgb[1]!);
          png.data[o + 2] = grey(rgb[2]!);
          png.data[o + 3] = 255;
        }
      }
    });
  });
  return PNG.sync.write(png);
}

/**
 * Reads a PNG image as one sample of `sampleShape` (`[h, w]`, `[h, w, 1]` or `[h, w, 3]`),
 * with raw 0..255 values: grey samples average the colour channels; alpha is ignored.
 */
export function readPngSample(path: string, sampleShape: readonly number[]): Float32Array {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path));
  } catch (err) {
    throw aekitErrorWithCause(
      err,
      'InvalidDataFile',
      path,
      `not a readable PNG image (${(err as Error).message}).`,
    );
  }
  const [h, w, c] = [sampleShape[0], sampleShape[1], sampleShape[2] ?? 1];
  if (sampleShape.length < 2 || png.height !== h || png.width !== w || (c !== 1 && c !== 3)) {
    throw aekitError(
      'DatasetMismatch',
      `${path} is ${png.width}x${png.height}; the model takes ${sampleShape.length >= 2 ? `${w}x${h} images with ${c} channel(s)` : `vectors of shape [${sampleShape.join(', ')}]`}.`,
    );
  }
  const out = new Float32Array(h! * w! * c);
  for (let i = 0; i < h! * w!; i++) {
    const [r, g, b] = [png.data[i * 4]!, png.data[i * 4 + 1]!, png.data[i * 4 + 2]!];
    if (c === 1) out[i] = (r + g + b) / 3;
    else out.set([r, g, b], i * 3);
  }
  return out;
}
