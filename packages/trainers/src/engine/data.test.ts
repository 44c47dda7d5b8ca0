import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset, parseVariantOptions, type RunManifest } from '@aekit/core';
import { describe, expect, it } from 'vitest';
import { asTfjsPlugin } from '../plugin.js';
import { builtinVariants } from '../register-all.js';
import { tempDir } from '../test-utils/index.js';
import type { TrainEvent } from './events.js';
import { train } from './train.js';

const dir = tempDir('aekit-data-');

/** 40 samples of 4 features spread over [-3, 3] (every value a multiple of 0.25). */
function wideCsv(name: string): string {
  const rows = Array.from({ length: 40 }, (_, r) =>
    Array.from({ length: 4 }, (_, c) => ((r * 4 + c) % 25) * 0.25 - 3).join(','),
  );
  const path = join(dir, name);
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

const quick = {
  variant: 'stacked',
  options: { layers: [3, 2] },
  epochs: 1,
  batchSize: 8,
  backend: 'wasm',
  figures: false,
} as const;

/** Trains, keeping the events. */
async function trainWithEvents(options: Parameters<typeof train>[0]) {
  const events: TrainEvent[] = [];
  const result = await train(options, (e) => events.push(e));
  return {
    result,
    events,
    notices: events.filter((e) => e.type === 'notice').map((e) => e.message),
  };
}

describe('train: data outside the range the variant needs', () => {
  it('refuses data in [-3, 3] for stacked with its default bce loss, naming the range', async () => {
    const data = wideCsv('wide.csv');
    await expect(
      train({ ...quick, data, normalize: 'none', out: join(dir, 'wide-none') }),
    ).rejects.toMatchObject({
      code: 'DataOutOfRange',
      message: expect.stringContaining(
        `The samples of "${data}" range from -3 to 3 after normalisation, but variant "stacked" with loss bce needs them in [0, 1].`,
      ),
    });
  });

  it('trains on the same data with --normalize minmax, or with loss mse', async () => {
    const data = wideCsv('wide2.csv');
    const minmax = await train({ ...quick, data, normalize: 'minmax', out: join(dir, 'minmax') });
    expect(minmax.manifest.status).toBe('completed');
    const mse = await train({
      ...quick,
      options: { layers: [3, 2], loss: 'mse', outputActivation: 'linear' },
      data,
      normalize: 'none',
      out: join(dir, 'mse'),
    });
    expect(mse.manifest.status).toBe('completed');
  });

  it('checks in-memory data sets too', async () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => (i % 8) - 2);
    await expect(
      train({
        ...quick,
        data: new Dataset({ x, sampleShape: [4], name: 'signed' }),
        out: join(dir, 'mem'),
      }),
    ).rejects.toMatchObject({
      code: 'DataOutOfRange',
      message: expect.stringContaining('memory:signed'),
      // --normalize does not apply to in-memory data, so the hint does not offer it.
      hint: expect.stringContaining("Scale the Dataset's samples to [0, 1] before training"),
    });
  });

  it('each variant says what its loss needs (here with the default options)', () => {
    const ranges = Object.fromEntries(
      builtinVariants.map((plugin) => {
        const p = asTfjsPlugin(plugin);
        return [p.name, p.trainer.inputRange?.(parseVariantOptions(p, {}))];
      }),
    );
    for (const name of [
      'stacked',
      'tied',
      'denoising',
      'sparse',
      'conv',
      'vae',
      'gsn',
      'hashing',
    ]) {
      expect(ranges[name], name).toMatchObject({ min: 0, max: 1 });
    }
    // Linear reconstructs with mse; wta's default loss is bce like the others.
    expect(ranges.linear).toBeUndefined();
    const stacked = asTfjsPlugin(builtinVariants.find((p) => p.name === 'stacked')!);
    expect(
      stacked.trainer.inputRange?.(parseVariantOptions(stacked, { loss: 'mse' })),
    ).toBeUndefined();
    const wta = asTfjsPlugin(builtinVariants.find((p) => p.name === 'wta')!);
    expect(wta.trainer.inputRange?.(parseVariantOptions(wta, { loss: 'mse' }))).toBeUndefined();
    expect(wta.trainer.inputRange?.(parseVariantOptions(wta, {}))).toMatchObject({
      min: 0,
      max: 1,
    });
  });
});

describe('train: non-finite values', () => {
  it('refuses NaN in an in-memory Dataset, naming the row and column', async () => {
    const x = new Float32Array(64).fill(0.5);
    x[4 * 11 + 2] = Number.NaN;
    await expect(
      train({
        ...quick,
        data: new Dataset({ x, sampleShape: [4], name: 'gappy' }),
        out: join(dir, 'nan'),
      }),
    ).rejects.toMatchObject({
      code: 'InvalidDataFile',
      message: expect.stringContaining(
        'row 12, column 3: NaN. Remove or fill missing values first.',
      ),
    });
  });

  it('refuses NaN in a CSV file', async () => {
    const data = join(dir, 'nan.csv');
    writeFileSync(data, '0,1\n1,nan\n0,0\n');
    await expect(train({ ...quick, data, out: join(dir, 'nan-csv') })).rejects.toMatchObject({
      code: 'InvalidDataFile',
      message: expect.stringContaining('row 2, column 2'),
    });
  });
});

describe('train: notices about how the data was read', () => {
  it('reports the header auto found, records it, and resume reads the file the same way', async () => {
    const data = join(dir, 'header.csv');
    const rows = Array.from({ length: 20 }, (_, r) => [r % 2, (r + 1) % 2, 1, 0].join(','));
    writeFileSync(data, `a,b,c,d\n${rows.join('\n')}\n`);
    const out = join(dir, 'header-run');
    const first = await trainWithEvents({ ...quick, data, out });
    expect(first.notices).toEqual([
      expect.stringContaining('first row taken as a header (a, b, c, d)'),
    ]);
    expect(first.result.manifest.data.header).toBe('yes');
    const resumed = await trainWithEvents({
      out,
      resume: true,
      epochs: 2,
      backend: 'wasm',
      figures: false,
    });
    expect(resumed.result.manifest.epochsCompleted).toBe(2);
    expect(resumed.notices).toEqual([]);
  });

  it('resume keeps an explicit --header yes on a file whose first row is numbers', async () => {
    const data = join(dir, 'numeric-header.csv');
    const rows = Array.from({ length: 21 }, (_, r) => [r % 2, (r + 1) % 2, 1, 0].join(','));
    writeFileSync(data, `${rows.join('\n')}\n`);
    const out = join(dir, 'numeric-header-run');
    const first = await train({ ...quick, data, header: 'yes', out });
    expect(first.manifest.data.header).toBe('yes');
    expect(first.manifest.data.trainCount + first.manifest.data.validationCount).toBe(20);
    // Read with auto, the first row would be data and the fingerprint would differ.
    const resumed = await train({ out, resume: true, epochs: 2, backend: 'wasm', figures: false });
    expect(resumed.manifest.epochsCompleted).toBe(2);
  });

  it('says when --limit is more than the samples, records no limit, and resumes', async () => {
    const data = join(dir, 'few.csv');
    const rows = Array.from({ length: 30 }, (_, r) => [r % 2, 1, 0, (r % 3) / 2].join(','));
    writeFileSync(data, `${rows.join('\n')}\n`);
    const out = join(dir, 'limit-run');
    const first = await trainWithEvents({ ...quick, data, limit: 5000, out });
    expect(first.notices).toContain(
      `--limit 5000 is more than the 30 samples in "${data}"; using all 30.`,
    );
    const manifest: RunManifest = first.result.manifest;
    expect(manifest.data.limit).toBeUndefined();
    expect(manifest.data.trainCount + manifest.data.validationCount).toBe(30);
    const resumed = await train({ out, resume: true, epochs: 2, backend: 'wasm', figures: false });
    expect(resumed.manifest.data.fingerprint).toBe(manifest.data.fingerprint);
    // A limit that cuts is recorded as before.
    const cut = await train({ ...quick, data, limit: 20, out: join(dir, 'limit-cut') });
    expect(cut.manifest.data.limit).toBe(20);
  });

  it('says when --limit is more than the samples of an in-memory Dataset', async () => {
    const x = new Float32Array(40).fill(0.5);
    const { notices, result } = await trainWithEvents({
      ...quick,
      data: new Dataset({ x, sampleShape: [4], name: 'ten' }),
      limit: 100,
      out: join(dir, 'mem-limit'),
    });
    expect(notices).toEqual([
      '--limit 100 is more than the 10 samples in "memory:ten"; using all 10.',
    ]);
    expect(result.manifest.data.limit).toBeUndefined();
  });
});
