import { describe, expect, it } from 'vitest';
import { Batcher, type RunBatch } from './batcher.js';
import type { Float32Tensor } from './protocol.js';
import { ProtocolError } from './protocol.js';

/** `rows` samples of 2 values: row i holds [start + i, -(start + i)]. */
const rowsFrom = (start: number, rows: number): Float32Tensor => ({
  data: Float32Array.from({ length: rows * 2 }, (_, k) =>
    k % 2 === 0 ? start + k / 2 : -(start + (k - 1) / 2),
  ),
  shape: [rows, 2],
});

/** A model that doubles its input, and records the batch sizes it ran. */
function doubler(runs: number[]): RunBatch {
  return async (inputs) => {
    const x = inputs.x!;
    runs.push(x.shape[0]!);
    await new Promise((r) => setTimeout(r, 5));
    return { y: { data: x.data.map((v) => 2 * v), shape: x.shape } };
  };
}

const options = { maxBatchSize: 8, maxQueueDelayMs: 20, maxQueueSize: 16, queueTimeoutMs: 5000 };

describe('Batcher', () => {
  it('runs concurrent requests as one batch and gives each its own rows, in order', async () => {
    const runs: number[] = [];
    const seen: [number, number][] = [];
    const batcher = new Batcher(doubler(runs), options, (r, s) => seen.push([r, s]));
    const sizes = [1, 3, 2];
    let start = 0;
    const results = await Promise.all(
      sizes.map((rows) => {
        const x = rowsFrom(start, rows);
        start += rows;
        return batcher.submit(rows, { x }, ['y']);
      }),
    );
    expect(runs).toEqual([6]);
    expect(seen).toEqual([[3, 6]]);
    start = 0;
    results.forEach((r, i) => {
      const expected = rowsFrom(start, sizes[i]!).data.map((v) => 2 * v);
      expect(r.y!.shape).toEqual([sizes[i], 2]);
      expect(Array.from(r.y!.data)).toEqual(Array.from(expected));
      start += sizes[i]!;
    });
  });

  it('never runs more than maxBatchSize samples at once', async () => {
    const runs: number[] = [];
    const batcher = new Batcher(doubler(runs), options);
    await Promise.all(
      [5, 5, 5].map((rows, i) => batcher.submit(rows, { x: rowsFrom(i, rows) }, ['y'])),
    );
    expect(runs).toEqual([5, 5, 5]);
  });

  it('refuses requests past maxQueueSize with 503 and Retry-After, and keeps serving', async () => {
    const runs: number[] = [];
    const batcher = new Batcher(doubler(runs), { ...options, maxQueueSize: 2 });
    const results = await Promise.allSettled(
      [0, 1, 2, 3].map((i) => batcher.submit(1, { x: rowsFrom(i, 1) }, ['y'])),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    const error = (results[2] as PromiseRejectedResult).reason as ProtocolError;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBe(1);
    await expect(batcher.submit(1, { x: rowsFrom(0, 1) }, ['y'])).resolves.toBeDefined();
  });

  it('answers 503 to a request that waits past queueTimeoutMs', async () => {
    const slow: RunBatch = async (inputs) => {
      await new Promise((r) => setTimeout(r, 200));
      return { y: inputs.x! };
    };
    const batcher = new Batcher(slow, { ...options, maxBatchSize: 1, queueTimeoutMs: 50 });
    const first = batcher.submit(1, { x: rowsFrom(0, 1) }, ['y']);
    const second = batcher.submit(1, { x: rowsFrom(1, 1) }, ['y']);
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a.status).toBe('fulfilled');
    expect((b as PromiseRejectedResult).reason).toMatchObject({ status: 503 });
  });

  it('rejects every request of a batch whose run fails', async () => {
    const batcher = new Batcher(async () => {
      throw new Error('boom');
    }, options);
    const results = await Promise.allSettled(
      [0, 1].map((i) => batcher.submit(1, { x: rowsFrom(i, 1) }, ['y'])),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
