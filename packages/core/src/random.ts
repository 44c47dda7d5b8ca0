import seedrandom from 'seedrandom';

/** A seeded generator of floats in [0, 1). */
export type Rng = () => number;

/** A seeded random generator; the same `seed` and `stream` give the same sequence. */
export function createRng(seed: number, stream = ''): Rng {
  return seedrandom(`${seed}/${stream}`);
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
