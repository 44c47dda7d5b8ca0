import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils/index.js';
import { train } from './train.js';

const dir = tempDir();

describe('memory', () => {
  it('keeps the number of live tensors flat across epochs and frees everything at the end', async () => {
    const counts: number[] = [];
    // Warm the backend and kernels up so lazily created constants are not counted as leaks.
    await train({
      variant: 'stacked',
      data: 'mnist',
      limit: 128,
      epochs: 1,
      out: `${dir}/warm`,
      backend: 'wasm',
      figures: false,
    });
    const before = tf.memory().numTensors;
    await train(
      {
        variant: 'stacked',
        data: 'mnist',
        limit: 512,
        epochs: 4,
        batchSize: 50,
        out: `${dir}/run`,
        backend: 'wasm',
      },
      (event) => {
        if (event.type === 'epoch-end') counts.push(tf.memory().numTensors);
      },
    );
    expect(counts).toHaveLength(4);
    // Epoch 1 creates the optimiser's slots; after that not one tensor may be added per epoch.
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});
