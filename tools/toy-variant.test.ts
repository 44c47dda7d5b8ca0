/**
 * A variant the runtime has never heard of, end to end: `tools/toy-variant/` registers
 * `toy-sampler` (a plugin declaring the `sample` capability and a prior sampler), it trains
 * for real on a few MNIST digits, `exportRun` writes its graphs and `aekit.json`, and
 * `@aekit/runtime-web` serves it from what that file declares, with no change anywhere
 * outside the plugin's folder.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgram, type Output } from '@aekit/cli';
import { AekitError, getVariant, parseExportedModelText, registerVariant } from '@aekit/core';
import { type Autoencoder, loadAutoencoder } from '@aekit/runtime-web';
import { builtinVariants, exportRun, train } from '@aekit/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOY_VARIANT, toySamplerVariant } from './toy-variant/index.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-toy-variant-'));
const run = join(dir, 'run');
/** The variant names a message must not contain: every built-in one, and the toy's own. */
const VARIANT_NAMES = [...builtinVariants.map((v) => v.name), TOY_VARIANT];
const namesVariant = (text: string) =>
  VARIANT_NAMES.filter((n) => new RegExp(`\\b${n}\\b`, 'i').test(text));

let ae: Autoencoder;

beforeAll(async () => {
  registerVariant(toySamplerVariant);
  await train({
    variant: TOY_VARIANT,
    options: { layers: [32, 4] },
    data: 'mnist',
    limit: 300,
    epochs: 2,
    batchSize: 50,
    backend: 'cpu',
    figures: false,
    out: run,
  });
  await exportRun(run, { backend: 'cpu', checkSamples: 32 });
  ae = await loadAutoencoder(join(run, 'onnx'), { device: 'cpu' });
});

afterAll(async () => {
  await ae?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('a variant plugin the runtime has never heard of', () => {
  it('is listed by `aekit variants` with the capability it declares', async () => {
    expect(getVariant(TOY_VARIANT).capabilities).toEqual(['sample']);
    const lines: string[] = [];
    const output: Output = {
      out: (t) => lines.push(t),
      err: (t) => lines.push(t),
      interactive: false,
    };
    await createProgram(output).parseAsync(['variants', TOY_VARIANT], { from: 'user' });
    expect(lines.join('\n')).toContain('capabilities: sample');
  });

  it('exports an aekit.json that declares its capability and sampler', () => {
    const text = readFileSync(join(run, 'onnx', 'aekit.json'), 'utf8');
    expect(parseExportedModelText(text, 'aekit.json')).toMatchObject({
      variant: TOY_VARIANT,
      inputShape: [28, 28, 1],
      codingShape: [4],
      outputActivation: 'sigmoid',
      capabilities: ['sample'],
      sampler: { kind: 'prior' },
    });
  });

  it('is served from what aekit.json declares', () => {
    expect(ae.info).toMatchObject({
      described: 'aekit.json',
      variant: TOY_VARIANT,
      capabilities: ['sample'],
      sampler: { kind: 'prior' },
      inputShape: [28, 28, 1],
      codingShape: [4],
    });
  });

  it('samples: decoded prior draws of the declared shape, inside the sigmoid output range', async () => {
    const s = await ae.sample(6, { seed: 7 });
    expect(s.shape).toEqual([6, 28, 28, 1]);
    expect(s.codings?.shape).toEqual([6, 4]);
    expect(s.data.length).toBe(6 * 784);
    // A sigmoid output lies in [0, 1] (float32 rounds values near the ends to 0 or 1).
    expect(s.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    // The same seed gives the same samples.
    expect(Array.from((await ae.sample(6, { seed: 7 })).data)).toEqual(Array.from(s.data));
  });

  it('refuses to hash, saying what its aekit.json declares and naming no variant', async () => {
    const err = await ae.hash(new Float32Array(784)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AekitError);
    const { code, message, hint } = err as AekitError;
    expect(code).toBe('CapabilityMissing');
    expect(message).toContain('its aekit.json declares the capabilities "sample", not "hash"');
    expect(namesVariant(message)).toEqual([]);
    expect(hint).toContain('`aekit variants`');
  });
});
