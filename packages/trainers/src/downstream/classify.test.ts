import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { evaluateRun } from '../runs/evaluate.js';
import { maxAbsDiff, savedWeights, tempDir } from '../test-utils/index.js';
import { trainMnist } from '../test-utils/mnist.js';
import { trainClassifier } from './classify.js';

const dir = tempDir();
let pretrained: string;
beforeAll(async () => {
  await selectBackend('wasm');
  pretrained = (await trainMnist(join(dir, 'ae'), 'stacked', { limit: 2000, epochs: 2 })).run;
});

const common = { labelsFraction: 0.02, epochs: 3, backend: 'wasm', seed: 3 } as const;

describe('aekit classify', () => {
  it('fine-tunes the encoder with a softmax head on a fraction of the labels', async () => {
    const r = await trainClassifier({ ...common, run: pretrained, out: join(dir, 'tuned') });
    // 2% of the 60,000 labelled training images, drawn with the seed.
    expect(r.manifest.classifier).toMatchObject({
      pretrained,
      freeze: 'none',
      labelsFraction: 0.02,
      labelled: 1200,
      classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    });
    expect(r.split).toBe('test');
    expect(r.metrics).toHaveLength(3);
    expect(r.metrics[2]!.loss).toBeLessThan(r.metrics[0]!.loss);
    // 1,200 labels, three epochs from a zero head: far above the 10% of chance (0.746
    // measured; the head starts at zero, so the first epoch mostly trains the head).
    expect(r.testAccuracy).toBeGreaterThan(0.6);
    // The encoder moved; eval reads the classifier back and agrees on its accuracy.
    expect(
      maxAbsDiff(savedWeights(r.run, 'encoder'), savedWeights(pretrained, 'encoder')),
    ).toBeGreaterThan(0);
    const report = await evaluateRun(r.run, { backend: 'wasm' });
    expect(report.classification!.accuracy).toBeCloseTo(r.testAccuracy, 6);
  });

  it('--freeze all keeps the pretrained encoder; --from-scratch starts from random weights', async () => {
    const frozen = await trainClassifier({
      ...common,
      run: pretrained,
      out: join(dir, 'frozen'),
      freeze: 'all',
    });
    expect(
      maxAbsDiff(savedWeights(frozen.run, 'encoder'), savedWeights(pretrained, 'encoder')),
    ).toBe(0);
    const scratch = await trainClassifier({
      ...common,
      run: pretrained,
      out: join(dir, 'scratch'),
      fromScratch: true,
    });
    expect(scratch.manifest.classifier!.pretrained).toBeNull();
    expect(scratch.testAccuracy).toBeGreaterThan(0.5);
  });

  it('explains bad options', async () => {
    const out = join(dir, 'bad');
    await expect(
      trainClassifier({ ...common, run: pretrained, out, labelsFraction: 1.5 }),
    ).rejects.toThrow(/--labels-fraction must be in \(0, 1\]/);
    await expect(trainClassifier({ ...common, run: pretrained, out, freeze: 5 })).rejects.toThrow(
      /--freeze 5, but the encoder has 2 layers with weights/,
    );
    const cls = join(dir, 'tuned');
    await expect(trainClassifier({ ...common, run: cls, out })).rejects.toThrow(
      /is a classifier run/,
    );
  });
});
