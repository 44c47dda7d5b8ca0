import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../backends/index.js';
import type { TrainEvent } from '../../engine/events.js';
import { train } from '../../engine/train.js';
import { evaluateRun } from '../../runs/evaluate.js';
import { tempDir } from '../../test-utils/index.js';
import { runModel } from '../../test-utils/mnist.js';

const dir = tempDir();
beforeAll(() => selectBackend('wasm'));

describe('greedy layer-wise training', () => {
  it('trains three shallow autoencoders in turn, then fine-tunes the stacked one', async () => {
    const events: TrainEvent[] = [];
    const r = await train(
      {
        variant: 'greedy',
        data: 'mnist',
        limit: 4000,
        epochs: 2,
        seed: 7,
        backend: 'wasm',
        figures: false,
        out: `${dir}/greedy`,
        options: { layers: [200, 100, 30], fineTuneEpochs: 1 },
      },
      (e) => events.push(e),
    );
    expect(r.manifest.phases).toEqual([
      { name: 'layer 1 of 3: 784-200-784', epochs: 2 },
      { name: 'layer 2 of 3: 200-100-200', epochs: 2 },
      { name: 'layer 3 of 3: 100-30-100', epochs: 2 },
      { name: 'fine-tuning end to end', epochs: 1 },
    ]);
    expect(r.metrics.map((m) => m.phase)).toEqual([1, 1, 2, 2, 3, 3, 4]);
    expect(events.filter((e) => e.type === 'phase')).toHaveLength(4);
    // Each layer-wise phase learns its own reconstruction.
    for (const phase of [1, 2, 3]) {
      const [a, b] = r.metrics.filter((m) => m.phase === phase);
      expect(b!.loss).toBeLessThan(a!.loss);
    }
    // The stacked deep autoencoder: hidden layers in order, output layers in reverse.
    const model = runModel(r.run);
    const widths = (net: 'encoder' | 'decoder') =>
      model.networks[net].layers
        .filter((l) => l.getClassName() === 'Dense')
        .map((l) => l.getConfig().units);
    expect(widths('encoder')).toEqual([200, 100, 30]);
    expect(widths('decoder')).toEqual([100, 200, 784]);
    // and it reconstructs test digits far better than the mean image.
    const report = await evaluateRun(r.run, { backend: 'wasm' });
    expect(report.mseRatio).toBeLessThan(0.6);
  });
});
