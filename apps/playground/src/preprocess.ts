/**
 * Drawings made into MNIST digits. MNIST's digits were scaled, keeping their aspect ratio, to
 * fit a 20x20 box, then placed in the 28x28 image with their centre of mass at its centre.
 * A digit drawn small in a corner of the pad is far from anything the models saw in training
 * (a drawn 7 came back as a 3/9 mix), so drawings go through the same steps first.
 *
 * The strokes are kept as points and drawn here at the digit's final size, so that the line
 * is as thick as an MNIST pen stroke however large the digit was drawn: scaling a bitmap of
 * the pad down would make small drawings bold and large ones faint.
 */

/** One stroke: the points the pen passed through, in pad pixels. */
export type Stroke = readonly (readonly [number, number])[];

/** The side of the image the models take. */
export const SIDE = 28;
/** The box MNIST's digits were scaled to fit, in pixels. */
export const BOX = 20;
/**
 * The pen's width in image pixels. MNIST strokes are about 2 to 3 pixels wide with a soft
 * edge: at 2.5 the ten digits drawn in the playground's test have a mean pixel value of 0.12,
 * MNIST's digits 0.13.
 */
export const PEN = 2.5;

/** Distance from (px, py) to the segment a-b. */
function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t =
    length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Draws `strokes` (already in image pixels) with a pen of width {@link PEN}: a pixel is 1
 * within the pen, 0 beyond it, with a one-pixel ramp between (an anti-aliased edge).
 */
function render(strokes: readonly Stroke[]): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const reach = PEN / 2 + 0.5;
  for (const stroke of strokes) {
    for (let k = 0; k < stroke.length; k++) {
      const [ax, ay] = stroke[k]!;
      const [bx, by] = stroke[Math.min(k + 1, stroke.length - 1)]!;
      // Only the pixels the segment's pen can reach.
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
      const x1 = Math.min(SIDE - 1, Math.ceil(Math.max(ax, bx) + reach));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
      const y1 = Math.min(SIDE - 1, Math.ceil(Math.max(ay, by) + reach));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const d = segmentDistance(x + 0.5, y + 0.5, ax, ay, bx, by);
          const v = Math.max(0, Math.min(1, reach - d));
          const at = y * SIDE + x;
          if (v > out[at]!) out[at] = v;
        }
      }
    }
  }
  return out;
}

/** The centre of mass of a 28x28 image, in pixels (pixel i spans i..i+1), or undefined if blank. */
export function centreOfMass(image: Float32Array): [number, number] | undefined {
  let mass = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = image[y * SIDE + x]!;
      mass += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return mass > 0 ? [sx / mass, sy / mass] : undefined;
}

/**
 * The drawing `strokes` as an MNIST digit: 784 values in [0, 1], the digit scaled (aspect
 * kept, pen included) to fit {@link BOX} pixels and moved so that its centre of mass is at
 * the centre of the image. `smallest` (pad pixels) is the size below which a drawing is not
 * enlarged further, so that a dot stays a dot. No strokes give a blank image.
 */
export function strokesToMnist(strokes: readonly Stroke[], smallest = 40): Float32Array {
  const points = strokes.flat();
  if (points.length === 0) return new Float32Array(SIDE * SIDE);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [left, right, top, bottom] = [
    Math.min(...xs),
    Math.max(...xs),
    Math.min(...ys),
    Math.max(...ys),
  ];
  const scale = (BOX - PEN) / Math.max(right - left, bottom - top, smallest);
  const cx = (left + right) / 2;
  const cy = (top + bottom) / 2;
  const place = (dx: number, dy: number) =>
    strokes.map((s) => s.map(([x, y]) => [(x - cx) * scale + dx, (y - cy) * scale + dy] as const));
  // First centred by its box, then moved so that its centre of mass is at the middle.
  const boxed = render(place(SIDE / 2, SIDE / 2));
  const [mx, my] = centreOfMass(boxed) ?? [SIDE / 2, SIDE / 2];
  return render(place(SIDE - mx, SIDE - my));
}

/** A `side` x `side` grey bitmap (values in [0, 1]) averaged down to 28x28 blocks. */
export function blockMean(pixels: Float32Array, side: number): Float32Array {
  const block = side / SIDE;
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      out[Math.floor(y / block) * SIDE + Math.floor(x / block)]! +=
        pixels[y * side + x]! / block ** 2;
    }
  }
  return out;
}
