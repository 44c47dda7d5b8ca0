import { describe, expect, it } from 'vitest';
import { Dataset } from './dataset.js';
import { expectCode } from './test-utils/index.js';

/**
 * `count` samples of shape [2]: sample i is (i, 1000 + i) and has label i % 7 + 100 * i, so
 * every sample, and the label that belongs to it, can be recognised from its values.
 */
function numbered(count: number, withLabels = true): Dataset {
  const x = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = 1000 + i;
    labels[i] = (i % 7) + 100 * i;
  }
  return new Dataset({ x, sampleShape: [2], name: 'numbered', ...(withLabels ? { labels } : {}) });
}

/** The ids (first feature) of every sample in `d`, in order. */
function ids(d: Dataset): number[] {
  return Array.from({ length: d.count }, (_, i) => d.x[2 * i]!);
}

function expectConsistent(d: Dataset): void {
  for (let i = 0; i < d.count; i++) {
    const id = d.x[2 * i]!;
    expect(d.x[2 * i + 1]).toBe(1000 + id);
    if (d.labels) expect(d.labels[i]).toBe((id % 7) + 100 * id);
  }
}

/** Every batch of an epoch, flattened to the sample ids in the order they were yielded. */
function epochIds(d: Dataset, batchSize: number, options = {}): { ids: number[]; sizes: number[] } {
  const out: number[] = [];
  const sizes: number[] = [];
  for (const batch of d.batches(batchSize, options)) {
    sizes.push(batch.size);
    expect(batch.x.length).toBe(batch.size * 2);
    for (let i = 0; i < batch.size; i++) {
      const id = batch.x[2 * i]!;
      expect(batch.x[2 * i + 1]).toBe(1000 + id);
      if (d.labels) expect(batch.labels![i]).toBe((id % 7) + 100 * id);
      out.push(id);
    }
  }
  return { ids: out, sizes };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('Dataset construction', () => {
  it('computes count and feature count from the sample shape', () => {
    const d = new Dataset({ x: new Float32Array(2 * 3 * 4 * 5), sampleShape: [3, 4, 1] });
    expect(d.featureCount).toBe(12);
    expect(d.count).toBe(10);
    expect(d.sampleShape).toEqual([3, 4, 1]);
    expect(d.labels).toBeUndefined();
    expect(d.normalization.kind).toBe('none');
    expect(d.name).toBe('data');
  });

  it('fails with DatasetMismatch when values do not divide into samples', () => {
    expect(
      expectCode(() => new Dataset({ x: new Float32Array(7), sampleShape: [2] }), 'DatasetMismatch')
        .message,
    ).toContain('[2]');
  });

  it('fails with DatasetMismatch when labels and samples differ in number', () => {
    const err = expectCode(
      () => new Dataset({ x: new Float32Array(6), sampleShape: [2], labels: new Int32Array(2) }),
      'DatasetMismatch',
    );
    expect(err.message).toBe('2 labels for 3 samples.');
  });
});

describe('Dataset.split', () => {
  it('is deterministic for a seed', () => {
    const d = numbered(50);
    const a = d.split(0.2, 42);
    const b = d.split(0.2, 42);
    expect(ids(a.train)).toEqual(ids(b.train));
    expect(ids(a.validation)).toEqual(ids(b.validation));
  });

  it('gives disjoint parts that cover every sample, with the rounded sizes', () => {
    const d = numbered(50);
    const { train, validation } = d.split(0.25, 7);
    expect(validation.count).toBe(13); // round(12.5)
    expect(train.count).toBe(37);
    const t = ids(train);
    const v = ids(validation);
    expect(t.filter((id) => v.includes(id))).toEqual([]);
    expect([...t, ...v].sort((a, b) => a - b)).toEqual(range(50));
    // Each part keeps the original order.
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(v).toEqual([...v].sort((a, b) => a - b));
  });

  it('keeps labels with their samples, and the shape and name', () => {
    const { train, validation } = numbered(30).split(0.3, 1);
    expectConsistent(train);
    expectConsistent(validation);
    expect(train.labels).toBeDefined();
    expect(validation.sampleShape).toEqual([2]);
    expect(train.name).toBe('numbered[train]');
    expect(validation.name).toBe('numbered[validation]');
  });

  it('gives different validation sets for different seeds', () => {
    const d = numbered(100);
    const a = ids(d.split(0.2, 1).validation);
    const b = ids(d.split(0.2, 2).validation);
    expect(a).toHaveLength(20);
    expect(b).toHaveLength(20);
    expect(a).not.toEqual(b);
  });

  it('is not simply the last samples (it is shuffled)', () => {
    expect(ids(numbered(100).split(0.2, 3).validation)).not.toEqual(range(100).slice(80));
  });

  it('with fraction 0 keeps everything for training', () => {
    const { train, validation } = numbered(5).split(0, 9);
    expect(ids(train)).toEqual(range(5));
    expect(validation.count).toBe(0);
  });

  it('rejects fractions outside [0, 1) with InvalidArgument', () => {
    const d = numbered(10);
    for (const f of [-0.1, 1, 1.5, Number.NaN]) {
      expect(expectCode(() => d.split(f, 0), 'InvalidArgument').message).toContain(String(f));
    }
  });

  it('fails with EmptyDataset when a part would be empty', () => {
    expectCode(() => numbered(3).split(0.1, 0), 'EmptyDataset'); // round(0.3) = 0 validation
    expectCode(() => numbered(1).split(0.6, 0), 'EmptyDataset'); // round(0.6) = 1, 0 train
  });
});

describe('Dataset.batches', () => {
  it('without shuffling yields the samples in order, last batch smaller', () => {
    const { ids: order, sizes } = epochIds(numbered(10), 4);
    expect(order).toEqual(range(10));
    expect(sizes).toEqual([4, 4, 2]);
    expect(numbered(10).batchCount(4)).toBe(3);
  });

  it('shuffled, yields every sample exactly once per epoch', () => {
    const d = numbered(23);
    for (const epoch of [0, 1, 5]) {
      const { ids: order, sizes } = epochIds(d, 5, { shuffle: true, seed: 11, epoch });
      expect([...order].sort((a, b) => a - b)).toEqual(range(23));
      expect(sizes).toEqual([5, 5, 5, 5, 3]);
    }
  });

  it('shuffled, the order is reproducible for the same seed and epoch', () => {
    const d = numbered(40);
    const a = epochIds(d, 8, { shuffle: true, seed: 3, epoch: 2 }).ids;
    const b = epochIds(d, 8, { shuffle: true, seed: 3, epoch: 2 }).ids;
    expect(a).toEqual(b);
    expect(a).not.toEqual(range(40));
  });

  it('shuffled, the order differs across epochs and seeds', () => {
    const d = numbered(40);
    const e0 = epochIds(d, 8, { shuffle: true, seed: 3, epoch: 0 }).ids;
    const e1 = epochIds(d, 8, { shuffle: true, seed: 3, epoch: 1 }).ids;
    const s4 = epochIds(d, 8, { shuffle: true, seed: 4, epoch: 0 }).ids;
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(s4);
  });

  it('dropLast drops a short last batch, shuffled or not', () => {
    const d = numbered(10);
    expect(epochIds(d, 4, { dropLast: true }).sizes).toEqual([4, 4]);
    expect(epochIds(d, 4, { dropLast: true }).ids).toEqual(range(8));
    const shuffled = epochIds(d, 4, { dropLast: true, shuffle: true, seed: 1 });
    expect(shuffled.sizes).toEqual([4, 4]);
    expect(new Set(shuffled.ids).size).toBe(8);
    expect(d.batchCount(4, true)).toBe(2);
    // Nothing is dropped when the batch size divides the count.
    expect(epochIds(d, 5, { dropLast: true }).sizes).toEqual([5, 5]);
  });

  it('reuseBuffer gives the same batches in one buffer', () => {
    const d = numbered(23);
    const options = { shuffle: true, seed: 11, epoch: 2 };
    expect(epochIds(d, 5, { ...options, reuseBuffer: true })).toEqual(epochIds(d, 5, options));
    const buffers = new Set(
      [...d.batches(5, { ...options, reuseBuffer: true })].map((b) => b.x.buffer),
    );
    expect(buffers.size).toBe(1);
  });

  it('yields no labels when the data set has none', () => {
    const batches = [...numbered(6, false).batches(4, { shuffle: true })];
    expect(batches).toHaveLength(2);
    for (const b of batches) expect(b.labels).toBeUndefined();
  });

  it('rejects a batch size that is not a positive integer', () => {
    const d = numbered(4);
    for (const size of [0, -1, 2.5, Number.NaN]) {
      // A generator runs nothing until the first next().
      const err = expectCode(() => d.batches(size).next(), 'InvalidArgument');
      expect(err.message).toContain('batch size');
    }
  });
});

describe('Dataset.slice / limit / take', () => {
  it('slice shares memory and clamps its bounds', () => {
    const d = numbered(10);
    const s = d.slice(2, 5);
    expect(ids(s)).toEqual([2, 3, 4]);
    expect(Array.from(s.labels!)).toEqual([2, 3, 4].map((i) => (i % 7) + 100 * i));
    expect(s.x.buffer).toBe(d.x.buffer);
    expect(ids(d.slice(8))).toEqual([8, 9]);
    expect(ids(d.slice(-3, 2))).toEqual([0, 1]);
    expect(d.slice(7, 3).count).toBe(0);
    expect(d.slice(20, 30).count).toBe(0);
  });

  it('limit keeps the first n samples, or the data set itself', () => {
    const d = numbered(10);
    expect(ids(d.limit(3))).toEqual([0, 1, 2]);
    expectConsistent(d.limit(3));
    expect(d.limit(undefined)).toBe(d);
    expect(d.limit(10)).toBe(d);
    expect(d.limit(99)).toBe(d);
  });

  it('take copies the given samples in the given order, labels included', () => {
    const d = numbered(10);
    const t = d.take([7, 0, 7, 3], 'picked');
    expect(ids(t)).toEqual([7, 0, 7, 3]);
    expectConsistent(t);
    expect(t.name).toBe('picked');
    expect(t.x.buffer).not.toBe(d.x.buffer);
    t.x[0] = -1;
    expect(d.x[14]).toBe(7);
  });
});

describe('Dataset.mean', () => {
  it('averages each feature over the samples', () => {
    const d = new Dataset({ x: Float32Array.from([1, 2, 3, 4, 5, 9]), sampleShape: [2] });
    expect(Array.from(d.mean())).toEqual([3, 5]);
  });

  it('of the numbered set is ((n-1)/2, 1000 + (n-1)/2)', () => {
    expect(Array.from(numbered(11).mean())).toEqual([5, 1005]);
  });

  it('of an empty data set is zeros, not NaN', () => {
    expect(Array.from(numbered(4).slice(4).mean())).toEqual([0, 0]);
  });
});
