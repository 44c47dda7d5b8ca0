/**
 * The ten digits as a person draws them on the 280x280 pad: pen strokes through points,
 * each digit at its own size and place (most small and off centre, as drawings are), none
 * shaped like an MNIST digit in size or position.
 */

type Point = [number, number];

/** A digit's strokes in a unit box: x and y from 0 to 1, y down. */
const SHAPES: readonly (readonly Point[])[][] = [
  // 0: an oval, from the top round anticlockwise and back.
  [
    Array.from({ length: 21 }, (_, i): Point => {
      const a = (i / 20) * 2 * Math.PI;
      return [0.5 - 0.42 * Math.sin(a), 0.5 - 0.48 * Math.cos(a)];
    }),
  ],
  // 1: a short flag, then straight down.
  [
    [
      [0.3, 0.18],
      [0.6, 0],
      [0.55, 1],
    ],
  ],
  // 2: a hook, a diagonal, a base.
  [
    [
      [0.12, 0.25],
      [0.3, 0.04],
      [0.6, 0],
      [0.85, 0.15],
      [0.85, 0.38],
      [0.6, 0.62],
      [0.1, 1],
      [0.92, 0.98],
    ],
  ],
  // 3: two bumps.
  [
    [
      [0.15, 0.1],
      [0.45, 0],
      [0.78, 0.12],
      [0.75, 0.35],
      [0.42, 0.48],
      [0.8, 0.6],
      [0.85, 0.85],
      [0.5, 1],
      [0.12, 0.9],
    ],
  ],
  // 4: down and across, then the upright.
  [
    [
      [0.45, 0],
      [0.08, 0.62],
      [0.92, 0.62],
    ],
    [
      [0.7, 0.25],
      [0.7, 1],
    ],
  ],
  // 5: the top bar, down, the belly.
  [
    [
      [0.85, 0.02],
      [0.28, 0],
      [0.22, 0.45],
      [0.55, 0.38],
      [0.85, 0.55],
      [0.86, 0.82],
      [0.55, 1],
      [0.15, 0.9],
    ],
  ],
  // 6: down the left, round the bottom loop.
  [
    [
      [0.78, 0],
      [0.42, 0.2],
      [0.2, 0.55],
      [0.24, 0.88],
      [0.5, 1],
      [0.78, 0.86],
      [0.8, 0.62],
      [0.5, 0.5],
      [0.22, 0.62],
    ],
  ],
  // 7: across the top, then down to the lower left.
  [
    [
      [0.08, 0.04],
      [0.92, 0.04],
      [0.4, 1],
    ],
  ],
  // 8: the top loop, then the bottom one, in one stroke.
  [
    [
      [0.5, 0.48],
      [0.22, 0.3],
      [0.26, 0.06],
      [0.5, 0],
      [0.74, 0.06],
      [0.78, 0.3],
      [0.5, 0.48],
      [0.18, 0.7],
      [0.24, 0.94],
      [0.5, 1],
      [0.76, 0.94],
      [0.82, 0.7],
      [0.5, 0.48],
    ],
  ],
  // 9: the loop, then the tail.
  [
    [
      [0.8, 0.22],
      [0.58, 0.02],
      [0.28, 0.05],
      [0.18, 0.3],
      [0.38, 0.48],
      [0.68, 0.42],
      [0.8, 0.22],
      [0.76, 0.6],
      [0.7, 1],
    ],
  ],
];

/** Where each digit is drawn: its box's top-left corner and height in pad pixels. */
const PLACES: readonly [number, number, number][] = [
  [30, 30, 110], // 0: small, top left
  [170, 120, 140], // 1: right, low
  [40, 140, 120], // 2: small, bottom left
  [90, 40, 210], // 3: large, near the middle
  [150, 20, 100], // 4: small, top right
  [20, 90, 150], // 5: left
  [120, 130, 130], // 6: bottom right
  [60, 60, 160], // 7: the 7, left of centre
  [160, 60, 180], // 8: right
  [30, 20, 230], // 9: large, left
];

/** Digit `d`'s strokes in pad pixels: its unit shape, 0.7 times as wide as high, at its place. */
export function digitStrokes(d: number): Point[][] {
  const [left, top, height] = PLACES[d]!;
  const width = 0.7 * height;
  return SHAPES[d]!.map((stroke) =>
    stroke.map(([x, y]): Point => [left + x * width, top + y * height]),
  );
}
