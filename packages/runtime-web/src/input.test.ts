import { AekitError } from '@aekit/core/errors';
import { describe, expect, it } from 'vitest';
import { checkBatchScale, toBatch } from './input.js';
import { createQueue } from './queue.js';
import type { AutoencoderInput } from './session.js';

function fails(input: unknown, shape: readonly number[]): string {
  try {
    toBatch(input as AutoencoderInput, shape, 'encode');
  } catch (err) {
    expect(err).toBeInstanceOf(AekitError);
    expect((err as AekitError).code).toBe('InvalidInput');
    return (err as AekitError).message;
  }
  throw new Error('expected InvalidInput');
}

describe('toBatch', () => {
  it('uses a Float32Array as it is, one or more samples', () => {
    const data = new Float32Array(12);
    const batch = toBatch(data, [2, 3], 'encode');
    expect(batch.shape).toEqual([2, 2, 3]);
    expect(batch.data).toBe(data);
  });

  it('reads nested arrays in the sample shape or flat per sample', () => {
    const image = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    expect(toBatch([image, image], [2, 3], 'encode').shape).toEqual([2, 2, 3]);
    const rows = toBatch([[1, 2, 3, 4, 5, 6]], [2, 3], 'encode');
    expect(rows.shape).toEqual([1, 2, 3]);
    expect(Array.from(rows.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(toBatch([1, 2, 3, 4, 5, 6], [3], 'encode').shape).toEqual([2, 3]);
  });

  it('checks { data, shape } against the sample shape', () => {
    expect(toBatch({ data: [1, 2, 3], shape: [1, 3] }, [3], 'encode').shape).toEqual([1, 3]);
    expect(fails({ data: new Float32Array(6), shape: [3, 2] }, [3])).toContain(
      'got shape [3, 2]; expected [N, 3]',
    );
    expect(fails({ data: new Float32Array(5), shape: [2, 3] }, [3])).toContain(
      'shape [2, 3] holds 6 values, but data has 5',
    );
  });

  it('says what is wrong with the rest', () => {
    expect(fails(new Float32Array(7), [6])).toBe(
      'encode() takes samples of shape [6] (6 values each): the Float32Array holds 7 values, which is not a whole number of samples.',
    );
    expect(fails([[1, 2], [3]], [2])).toContain('x[1] has 1 elements, but the first one');
    expect(
      fails(
        [
          [1, [2]],
          [3, 4],
        ],
        [2],
      ),
    ).toContain('x[0][1] is an array');
    expect(fails([['a', 2]], [2])).toContain('the element at x[0][0] is string');
    expect(fails([[[1, 2, 3]]], [2, 3])).toContain('got nested arrays of shape [1, 1, 3]');
    expect(fails(new Float32Array(0), [2])).toContain('is empty');
    expect(fails(new Int32Array(2), [2])).toContain('got a Int32Array');
    expect(fails(null, [2])).toContain('got null');
    expect(fails('1,2', [2])).toContain('got string');
  });
});

describe('createQueue', () => {
  it('runs tasks one at a time, in order, past failures', async () => {
    const enqueue = createQueue();
    const log: string[] = [];
    let running = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      enqueue(task('a')),
      enqueue(task('b', true)),
      enqueue(task('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});

describe('checkBatchScale', () => {
  const UNIT = { kind: 'unit', scale: 1 / 255, offset: 0 } as const;
  const pixels = (peak: number): Float32Array => {
    const x = new Float32Array(2 * 16);
    x.fill(peak, 4, 12);
    x.fill(peak / 2, 20, 24);
    return x;
  };

  it('refuses 0..255 pixels for a unit model, saying to normalise them first', () => {
    let error: unknown;
    try {
      checkBatchScale(toBatch(pixels(255), [4, 4], 'encode'), UNIT, 'encode');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AekitError);
    expect((error as AekitError).code).toBe('InputScaleMismatch');
    expect((error as AekitError).message).toContain(
      'The values of the encode() input lie in [0, 255], given as already normalised',
    );
    expect((error as AekitError).hint).toContain('applyNormalization');
  });

  it('takes [0, 1] values, and checks nothing without a recorded normalisation', () => {
    expect(() => checkBatchScale(toBatch(pixels(1), [16], 'hash'), UNIT, 'hash')).not.toThrow();
    const batch = toBatch(pixels(255), [16], 'encode');
    expect(() => checkBatchScale(batch, undefined, 'encode')).not.toThrow();
  });
});
