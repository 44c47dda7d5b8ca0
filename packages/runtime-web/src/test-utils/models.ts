import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PYTHON } from '../../../core/src/test-utils/requirements.js';

export { PYTHON };

/** The script that writes the test models (packages/runtime-web/test/make-models.py). */
export const MAKE_MODELS = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../test/make-models.py',
);

/** Torch's outputs of the variational autoencoder (vae/) for {@link Expected.input}. */
export interface VaeExpected {
  /** The encoder's `codings` output (the means), `[3][2]`. */
  readonly codings: number[][];
  /** The encoder's `log_variance` output, `[3][2]`. */
  readonly logVariance: number[][];
  /** decoder(codings): what `autoencoder.onnx` computes. */
  readonly reconstruction: number[][];
}

/** Torch's outputs for fixed inputs (written by make-models.py). */
export interface Expected {
  /** Three samples of 6 values. */
  readonly input: number[][];
  /** encoder(input). */
  readonly codings: number[][];
  /** decoder(encoder(input)). */
  readonly reconstruction: number[][];
  /** Two codings of 3 values, independent of the encoder. */
  readonly decodeInput: number[][];
  /** decoder(decodeInput). */
  readonly decoded: number[][];
  /** The variational autoencoder's outputs for `input`. */
  readonly vae: VaeExpected;
  /** The torch version that computed them. */
  readonly torch: string;
}

/** Folders written by make-models.py. */
export interface TorchModels {
  /** encoder.onnx, decoder.onnx, autoencoder.onnx (dynamic batch; names x, z, y). */
  readonly dir: string;
  /** The same encoder/decoder exported with a fixed batch of 2. */
  readonly fixedBatchDir: string;
  /**
   * A variational autoencoder as `aekit export` writes one (6 -> mean, log_variance of 2
   * -> 6; aekit's names; aekit.json with variant `vae`, capabilities `['sample']`).
   */
  readonly vaeDir: string;
  /** Its encoder and decoder exported with a fixed batch of 2, without aekit.json. */
  readonly vaeFixedBatchDir: string;
  readonly expected: Expected;
}

/**
 * Builds the tiny torch models (6 -> 3 -> 6, linear + sigmoid; and the 6 -> 2 -> 6 VAE) into
 * a new temp folder.
 * About a second; call it once per test file.
 */
export function makeTorchModels(): TorchModels {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-rtw-models-'));
  const run = spawnSync(PYTHON, [MAKE_MODELS, dir], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`${PYTHON} ${MAKE_MODELS} failed (${run.status}):\n${run.stderr}`);
  }
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  return {
    dir,
    fixedBatchDir: join(dir, 'fixed-batch'),
    vaeDir: join(dir, 'vae'),
    vaeFixedBatchDir: join(dir, 'vae', 'fixed-batch'),
    expected,
  };
}

/** The largest absolute difference between `actual` and the rows of `expected`. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: readonly number[][]): number {
  const flat = expected.flat();
  if (flat.length !== actual.length) {
    throw new Error(`length ${actual.length} differs from the expected ${flat.length}`);
  }
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - flat[i]!));
  return worst;
}
