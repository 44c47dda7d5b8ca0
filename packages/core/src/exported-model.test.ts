import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CAPABILITY_KINDS,
  createExportedModel,
  EXPORTED_MODEL_FORMAT,
  type ExportedModelInput,
  graphFile,
  hasGraph,
  MAX_CHAIN_STEPS,
  parseExportedModel,
  parseExportedModelText,
  SAMPLER_KINDS,
  TENSOR_NAMES,
  writeExportedModel,
} from './exported-model.js';
import { DEFAULT_ONNX_GRAPHS } from './onnx-graphs.js';
import { expectCode } from './test-utils/index.js';

const INPUT: ExportedModelInput = {
  variant: 'some-variant',
  inputShape: [28, 28, 1],
  codingShape: [8],
  normalization: { kind: 'unit', scale: 1 / 255, offset: 0 },
  outputActivation: 'sigmoid',
  capabilities: ['sample'],
  sampler: { kind: 'chain', noise: 'gaussian', noiseStd: 0.3, noiseRate: 0, steps: 10 },
  graphs: DEFAULT_ONNX_GRAPHS.map((g) =>
    g.role === 'encoder' ? { ...g, extraOutputNames: [TENSOR_NAMES.logVariance] } : g,
  ),
  check: { samples: 64, from: 'random', maxAbsDiff: 1e-7 },
  aekitVersion: '0.1.0',
};

describe('the module', () => {
  it('imports only the error catalogue and the normalisation kinds, and no Node API (browsers load it)', () => {
    const source = readFileSync(new URL('./exported-model.ts', import.meta.url), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map(
      (m) => m[1],
    );
    expect(imports.sort()).toEqual(['./errors.js', './normalization.js']);
    expect(source).not.toMatch(/\bimport\s*\(|\brequire\s*\(|\bBuffer\b|\bprocess\.|node:/);
    // normalization.ts may use the error catalogue (its scale check throws), nothing else.
    const normalization = readFileSync(new URL('./normalization.ts', import.meta.url), 'utf8');
    const normalizationImports = [
      ...normalization.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm),
    ].map((m) => m[1]);
    expect(normalizationImports).toEqual(['./errors.js']);
  });

  it('lists the capability and sampler kinds', () => {
    expect(CAPABILITY_KINDS).toEqual(['sample', 'hash', 'classify']);
    expect(SAMPLER_KINDS).toEqual(['prior', 'chain']);
  });
});

describe('writeExportedModel', () => {
  it('writes what parseExportedModelText reads back, graphs named ROLE.onnx', () => {
    const text = writeExportedModel(INPUT);
    expect(text.endsWith('}\n')).toBe(true);
    const model = parseExportedModelText(text, 'aekit.json');
    expect(model).toEqual(JSON.parse(text));
    expect(createExportedModel(INPUT)).toEqual(model);
    expect(model).toMatchObject({
      format: EXPORTED_MODEL_FORMAT,
      variant: 'some-variant',
      capabilities: ['sample'],
      sampler: INPUT.sampler,
      check: INPUT.check,
    });
    expect(model.graphs).toEqual({
      encoder: {
        file: 'encoder.onnx',
        input: 'input',
        output: 'codings',
        extraOutputs: ['log_variance'],
      },
      decoder: { file: 'decoder.onnx', input: 'codings', output: 'reconstruction' },
      autoencoder: { file: 'autoencoder.onnx', input: 'input', output: 'reconstruction' },
    });
    expect(graphFile(model, 'decoder')).toBe('decoder.onnx');
    expect(graphFile(undefined, 'classifier')).toBe('classifier.onnx');
    expect([hasGraph(model, 'classifier'), hasGraph(undefined, 'encoder')]).toEqual([
      false,
      undefined,
    ]);
  });

  it('refuses what runtimes would refuse, naming the field, before anything is written', () => {
    const cases: [Partial<ExportedModelInput>, string][] = [
      [{ capabilities: ['sample', 'denoise' as never] }, 'capabilities "denoise" are not among'],
      [
        { sampler: { ...INPUT.sampler!, steps: MAX_CHAIN_STEPS + 1 } as never },
        '"sampler" must be',
      ],
      [{ sampler: { kind: 'chain' } as never }, '"sampler" must be'],
      [{ inputShape: [28, 0] }, '"inputShape" must be'],
      [{ graphs: [{ role: '../up', inputName: 'a', outputName: 'b' }] }, '"graphs.../up.file"'],
      [{ check: { samples: 0, from: 'random', maxAbsDiff: 0 } }, '"check" must be'],
    ];
    for (const [change, words] of cases) {
      const err = expectCode(() => writeExportedModel({ ...INPUT, ...change }), 'InvalidArgument');
      expect(err.message).toContain('aekit.json would not be valid');
      expect(err.message).toContain(words);
    }
  });
});

/** The quality of int8 graphs as an export records it. */
const QUALITY = {
  metrics: {
    mse: { fp32: 0.0598, value: 0.0597, loss: 0.0017 },
    bitAgreement: { fp32: 1, value: 0.9999, loss: 0.0001 },
  },
  loss: 0.0017,
  budget: 0.01,
  samples: 1000,
  from: 'test',
} as const;

describe('parseExportedModel', () => {
  const valid = JSON.parse(writeExportedModel(INPUT)) as Record<string, unknown>;

  it('needs only format and shapes; capabilities default to [], unknown fields are left out', () => {
    const model = parseExportedModel(
      { format: 'aekit-onnx/1', inputShape: [6], codingShape: [3], later: 1 },
      'm',
    );
    expect(model).toEqual({
      format: 'aekit-onnx/1',
      inputShape: [6],
      codingShape: [3],
      capabilities: [],
    });
    // A capability this version does not know is kept: runtimes act only on the kinds they know.
    expect(parseExportedModel({ ...valid, capabilities: ['later'] }, 'm').capabilities).toEqual([
      'later',
    ]);
  });

  it('reads and writes a repository folder: folded normalisation, model name, model.onnx', () => {
    const written = writeExportedModel({
      ...INPUT,
      normalization: { kind: 'none', scale: 1, offset: 0 },
      foldedNormalization: { kind: 'standard', scale: [2, 0.5], offset: [-1, 0] },
      repository: { model: 'digits-encoder', version: 2 },
      graphs: [{ role: 'encoder', file: 'model.onnx', inputName: 'input', outputName: 'codings' }],
    });
    const read = parseExportedModelText(written, 'm');
    expect(read.normalization).toEqual({ kind: 'none', scale: 1, offset: 0 });
    expect(read.foldedNormalization).toEqual({
      kind: 'standard',
      scale: [2, 0.5],
      offset: [-1, 0],
    });
    expect(read.repository).toEqual({ model: 'digits-encoder', version: 2 });
    expect(read.graphs).toEqual({
      encoder: { file: 'model.onnx', input: 'input', output: 'codings' },
    });
    expect(graphFile(read, 'encoder')).toBe('model.onnx');
    expect(hasGraph(read, 'decoder')).toBe(false);
    // Files written before these fields existed read as before.
    expect(parseExportedModel(valid, 'm')).not.toHaveProperty('repository');
  });

  it('reads back the precision and quality an export wrote; older files have neither', () => {
    const written = writeExportedModel({ ...INPUT, precision: 'int8', quality: QUALITY });
    const read = parseExportedModelText(written, 'm');
    expect(read.precision).toBe('int8');
    expect(read.quality).toEqual(QUALITY);
    expect(parseExportedModel(valid, 'm')).not.toHaveProperty('precision');
    expect(parseExportedModel(valid, 'm')).not.toHaveProperty('quality');
    const err = expectCode(
      () => createExportedModel({ ...INPUT, precision: 'int4' as 'int8' }),
      'InvalidArgument',
    );
    expect(err.message).toContain('"precision" must be one of');
  });

  it('fails with ModelLoadFailed naming the first wrong field', () => {
    const cases: [unknown, string][] = [
      [[], 'it is not a JSON object.'],
      [{ ...valid, format: 'aekit-onnx/9' }, '"format" is "aekit-onnx/9"'],
      [{ ...valid, codingShape: [2 ** 16, 2 ** 16] }, '"codingShape" must be'],
      [{ ...valid, inputShape: 'x', codingShape: [] }, '"inputShape" must be'],
      [{ ...valid, variant: 3 }, '"variant" must be a string.'],
      [{ ...valid, capabilities: [1] }, '"capabilities" must be an array of strings.'],
      [{ ...valid, normalization: { kind: 'odd', scale: 1, offset: 0 } }, '"normalization"'],
      [
        { ...valid, normalization: { kind: 'unit', scale: [1, null], offset: 0 } },
        '"normalization"',
      ],
      [
        { ...valid, foldedNormalization: { kind: 'unit', scale: 'x', offset: 0 } },
        '"foldedNormalization"',
      ],
      [{ ...valid, repository: { model: '', version: 1 } }, '"repository" must be'],
      [{ ...valid, repository: { model: 'm-encoder', version: 0 } }, '"repository" must be'],
      [{ ...valid, sampler: { kind: 'walk' } }, '"sampler" must be'],
      [{ ...valid, sampler: { ...INPUT.sampler!, noiseRate: 1 } }, '"sampler" must be'],
      [{ ...valid, classes: [0.5] }, '"classes" must be an array of integer labels.'],
      [{ ...valid, graphs: [] }, '"graphs" must be an object.'],
      [{ ...valid, graphs: { encoder: { file: 'e.onnx', input: 'x' } } }, '"graphs.encoder" must'],
      [
        {
          ...valid,
          graphs: { encoder: { file: 'e.onnx', input: 'x', output: 'z', extraOutputs: 'y' } },
        },
        '"graphs.encoder.extraOutputs" must be an array of strings.',
      ],
      [
        { ...valid, graphs: { encoder: { file: '../e.onnx', input: 'x', output: 'z' } } },
        '"graphs.encoder.file" must be a file name in the model folder, not a path.',
      ],
      [{ ...valid, check: { samples: 3, from: 'elsewhere', maxAbsDiff: 0 } }, '"check" must be'],
      [{ ...valid, precision: 'int4' }, '"precision" must be one of "fp32", "fp16", "int8".'],
      [{ ...valid, quality: { ...QUALITY, budget: -0.1 } }, '"quality" must be'],
      [{ ...valid, quality: { ...QUALITY, from: 'elsewhere' } }, '"quality" must be'],
      [
        { ...valid, quality: { ...QUALITY, metrics: { mse: { fp32: 1, value: 1 } } } },
        '"quality.metrics.mse" must be { fp32, value, loss (>= 0) }',
      ],
      [
        { ...valid, quality: { ...QUALITY, metrics: { mse: { fp32: 1, value: 2, loss: -1 } } } },
        '"quality.metrics.mse" must be',
      ],
    ];
    for (const [value, words] of cases) {
      const err = expectCode(() => parseExportedModel(value, 'the-model'), 'ModelLoadFailed');
      expect(err.message).toContain('Cannot load "the-model": aekit.json is not valid: ');
      expect(err.message).toContain(words);
    }
    const notJson = expectCode(() => parseExportedModelText('{', 'm'), 'ModelLoadFailed');
    expect(notJson.message).toContain('aekit.json is not JSON');
  });
});
