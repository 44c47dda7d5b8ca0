import { describe, expect, it } from 'vitest';
import { checkSampleRequest, MAX_SAMPLE_VALUES, normalDraws, seededUniform } from './sampling.js';
import { expectRejection } from './test-utils/errors.js';

describe('seeded draws of sample()', () => {
  it('gives the same uniforms in [0, 1) for the same seed, others for another', () => {
    const take = (seed: number) => {
      const u = seededUniform(seed);
      return Array.from({ length: 1000 }, () => u());
    };
    expect(take(3)).toEqual(take(3));
    expect(take(3)).not.toEqual(take(4));
    expect(take(2 ** 32 - 1)).not.toEqual(take(0));
    for (const v of take(7)) expect(v >= 0 && v < 1).toBe(true);
  });

  it('turns pairs of uniforms into normals by Box-Muller', () => {
    const rng = seededUniform(3);
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = Math.sqrt(-2 * Math.log(1 - rng()));
      const angle = 2 * Math.PI * rng();
      expected.push(r * Math.cos(angle), r * Math.sin(angle));
    }
    // an odd count drops the last sine
    expect(Array.from(normalDraws(5, seededUniform(3)))).toEqual(
      Array.from(Float32Array.from(expected.slice(0, 5))),
    );
    const scaled = normalDraws(6, seededUniform(3), 0.5);
    expect(Array.from(scaled)).toEqual(Array.from(Float32Array.from(expected, (v) => v * 0.5)));
  });

  it('draws from N(0, 1)', () => {
    const n = 100_000;
    const draws = normalDraws(n, seededUniform(11));
    let sum = 0;
    let squares = 0;
    for (const v of draws) {
      sum += v;
      squares += v * v;
    }
    const mean = sum / n;
    const std = Math.sqrt(squares / n - mean * mean);
    // standard errors: 1/sqrt(n) = 0.003 for the mean, 1/sqrt(2n) = 0.002 for the std
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });

  it('checks n, seed and temperature, and picks a seed when none is given', async () => {
    expect(checkSampleRequest(5, { seed: 3 }, 6)).toEqual({ n: 5, seed: 3, temperature: 1 });
    const picked = checkSampleRequest(1, {}, 6).seed;
    expect(Number.isSafeInteger(picked)).toBe(true);
    const most = Math.floor(MAX_SAMPLE_VALUES / 784);
    expect(checkSampleRequest(most, {}, 784).n).toBe(most);
    const refuse = (n: unknown, options: unknown = {}) =>
      expectRejection(
        Promise.resolve().then(() => checkSampleRequest(n, options, 784)),
        'InvalidArgument',
      );
    const tooMany = await refuse(most + 1);
    expect(tooMany.message).toBe(
      `sample(): n is ${most + 1}, but one call draws at most ${most} samples of 784 values (67108864 values in all: they are decoded in one run, held in memory at once). Call sample() again, with other seeds, for more.`,
    );
    for (const n of [0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '5', undefined]) {
      expect((await refuse(n)).message).toMatch(/^sample\(\): n must be a positive integer/);
    }
    expect((await refuse(1, { seed: 1.5 })).message).toContain('seed must be an integer');
    expect((await refuse(1, { seed: -1 })).message).toContain('from 0 to 4294967295');
    expect((await refuse(1, { seed: 2 ** 32 })).message).toContain('from 0 to 4294967295');
    expect((await refuse(1, { seed: '3' })).message).toContain('not "3"');
    expect((await refuse(1, { temperature: -1 })).message).toContain('temperature must be');
    expect((await refuse(1, { temperature: Number.NaN })).message).toContain('not NaN');
    expect((await refuse(1, null)).message).toContain('options must be { seed?, temperature? }');
  });
});
