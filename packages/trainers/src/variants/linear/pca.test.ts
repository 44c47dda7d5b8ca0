import { createRng, Dataset } from '@aekit/core';
import { RunDirectory } from '@aekit/core/node';
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { train } from '../../engine/train.js';
import { loadRunModel } from '../../model/io.js';
import { disposeNetworks } from '../../plugin.js';
import { tempDir } from '../../test-utils/index.js';

/**
 * The 3-D data set of the book's PCA example: points near a curved 2-D sheet, with noise,
 * centred. Generated with a seeded generator.
 */
function threeD(m: number, seed: number): Float32Array {
  const rng = createRng(seed, 'pca-data');
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const x = new Float32Array(m * 3);
  const noise = 0.1;
  for (let i = 0; i < m; i++) {
    const angle = rng() * 1.5 * Math.PI - 0.5;
    const a = Math.cos(angle) + Math.sin(angle) / 2 + (noise * gauss()) / 2;
    const b = Math.sin(angle) * 0.7 + (noise * gauss()) / 2;
    x[i * 3] = a;
    x[i * 3 + 1] = b;
    x[i * 3 + 2] = a * 0.1 + b * 0.3 + noise * gauss();
  }
  const mean = [0, 1, 2].map((j) => x.filter((_, k) => k % 3 === j).reduce((s, v) => s + v, 0) / m);
  for (let i = 0; i < x.length; i++) x[i]! -= mean[i % 3]!;
  return x;
}

/** Principal angles (degrees) between the row spaces of `a` and `b` (k x n each). */
function principalAngles(a: Matrix, b: Matrix): number[] {
  const qa = new QrDecomposition(a.transpose()).orthogonalMatrix.subMatrix(
    0,
    a.columns - 1,
    0,
    a.rows - 1,
  );
  const qb = new QrDecomposition(b.transpose()).orthogonalMatrix.subMatrix(
    0,
    b.columns - 1,
    0,
    b.rows - 1,
  );
  const cosines = new SingularValueDecomposition(qa.transpose().mmul(qb)).diagonal;
  return cosines.map((c) => (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI);
}

const dir = tempDir();

describe('linear autoencoder', () => {
  it('learns the subspace of the top two principal components (within 2 degrees)', async () => {
    const m = 400;
    const x = threeD(m, 1);
    const data = new Dataset({ x, sampleShape: [3], name: 'pca-3d' });
    const out = `${dir}/linear`;
    await train({
      variant: 'linear',
      options: { codingSize: 2 },
      data,
      validationSplit: 0,
      epochs: 60,
      batchSize: 16,
      optimizer: 'adam',
      learningRate: 0.01,
      backend: 'wasm',
      out,
      figures: false,
    });
    const { model } = loadRunModel(new RunDirectory(out));
    const kernel = model.networks.decoder.getWeights()[0]!; // [2, 3]: rows are the decoder's directions
    const decoderRows = new Matrix(kernel.arraySync() as number[][]);
    disposeNetworks(model.networks);

    const X = new Matrix(
      Array.from({ length: m }, (_, i) => Array.from(x.subarray(i * 3, i * 3 + 3))),
    );
    const svd = new SingularValueDecomposition(X, { autoTranspose: true });
    const pcs = svd.rightSingularVectors.transpose().subMatrix(0, 1, 0, 2); // top two PCs as rows

    const angles = principalAngles(decoderRows, pcs);
    expect(angles).toHaveLength(2);
    // Gradient descent stops short of the exact optimum; 2 degrees is the bound.
    expect(Math.max(...angles)).toBeLessThan(2);
  });
});
