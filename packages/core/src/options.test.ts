import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeOptions, fromFlag, parseVariantOptions, toFlag } from './options.js';
import { expectCode } from './test-utils/index.js';
import { defineVariant } from './variant.js';

const schema = z.object({
  hiddenUnits: z
    .array(z.number().int().positive())
    .default([256, 64])
    .describe('units of each hidden layer'),
  dropoutRate: z.number().min(0).lt(1).default(0.1).describe('dropout before each layer'),
  activation: z.enum(['relu', 'selu', 'tanh']).default('relu').describe('hidden activation'),
  tiedWeights: z.boolean().default(false).describe('share encoder and decoder weights'),
  noise: z
    .array(z.enum(['gauss', 'mask']))
    .default(['gauss'])
    .describe('corruptions'),
  codingSize: z.number().int().positive().default(30).describe('size of the coding layer'),
});

const stacked = defineVariant({
  name: 'stacked',
  title: 'Stacked',
  description: 'A stacked autoencoder, for tests.',
  options: schema,
  capabilities: [],
  trainer: null,
});

describe('toFlag / fromFlag', () => {
  it('converts between camelCase and kebab-case', () => {
    expect(toFlag('hiddenUnits')).toBe('hidden-units');
    expect(toFlag('units')).toBe('units');
    expect(fromFlag('hidden-units')).toBe('hiddenUnits');
    expect(fromFlag('tied-weights')).toBe('tiedWeights');
    expect(fromFlag(toFlag('learningRateDecay'))).toBe('learningRateDecay');
  });
});

describe('describeOptions', () => {
  const infos = describeOptions(schema);
  const byName = new Map(infos.map((o) => [o.name, o]));

  it('lists every field in declaration order with its kebab-case flag', () => {
    expect(infos.map((o) => o.name)).toEqual([
      'hiddenUnits',
      'dropoutRate',
      'activation',
      'tiedWeights',
      'noise',
      'codingSize',
    ]);
    expect(infos.map((o) => o.flag)).toEqual([
      'hidden-units',
      'dropout-rate',
      'activation',
      'tied-weights',
      'noise',
      'coding-size',
    ]);
  });

  it('gives types, choices, defaults and descriptions', () => {
    expect(byName.get('hiddenUnits')).toEqual({
      name: 'hiddenUnits',
      flag: 'hidden-units',
      type: 'integer[]',
      default: [256, 64],
      description: 'units of each hidden layer',
    });
    expect(byName.get('dropoutRate')).toMatchObject({
      type: 'number',
      default: 0.1,
      description: 'dropout before each layer',
    });
    expect(byName.get('dropoutRate')).not.toHaveProperty('choices');
    expect(byName.get('activation')).toMatchObject({
      type: 'string',
      choices: ['relu', 'selu', 'tanh'],
      default: 'relu',
    });
    expect(byName.get('tiedWeights')).toMatchObject({ type: 'boolean', default: false });
    expect(byName.get('noise')).toMatchObject({
      type: 'string[]',
      choices: ['gauss', 'mask'],
      default: ['gauss'],
    });
    expect(byName.get('codingSize')).toMatchObject({ type: 'integer', default: 30 });
  });

  it('gives a plain number array type for non-integer lists', () => {
    const [info] = describeOptions(z.object({ rates: z.array(z.number()).default([0.5]) }));
    expect(info).toMatchObject({
      flag: 'rates',
      type: 'number[]',
      default: [0.5],
      description: '',
    });
  });

  it('gives nothing for an empty schema', () => {
    expect(describeOptions(z.object({}))).toEqual([]);
  });
});

describe('parseVariantOptions', () => {
  it('fills in every default', () => {
    expect(parseVariantOptions(stacked)).toEqual({
      hiddenUnits: [256, 64],
      dropoutRate: 0.1,
      activation: 'relu',
      tiedWeights: false,
      noise: ['gauss'],
      codingSize: 30,
    });
  });

  it('coerces command-line strings', () => {
    const parsed = parseVariantOptions(stacked, {
      'hidden-units': '100,30',
      'dropout-rate': '0.5',
      activation: 'tanh',
      'tied-weights': 'true',
      noise: 'gauss, mask',
      'coding-size': '12',
    });
    expect(parsed).toEqual({
      hiddenUnits: [100, 30],
      dropoutRate: 0.5,
      activation: 'tanh',
      tiedWeights: true,
      noise: ['gauss', 'mask'],
      codingSize: 12,
    });
  });

  it('reads a bare boolean flag (empty string) as true and "false" as false', () => {
    expect(parseVariantOptions(stacked, { 'tied-weights': '' }).tiedWeights).toBe(true);
    expect(parseVariantOptions(stacked, { tiedWeights: 'false' }).tiedWeights).toBe(false);
  });

  it('accepts camelCase keys and typed values from code', () => {
    const parsed = parseVariantOptions(stacked, {
      hiddenUnits: [8],
      dropoutRate: 0,
      codingSize: 2,
    });
    expect(parsed.hiddenUnits).toEqual([8]);
    expect(parsed.dropoutRate).toBe(0);
    expect(parsed.codingSize).toBe(2);
    expect(parsed.activation).toBe('relu');
  });

  it('skips undefined values (unset flags keep their defaults)', () => {
    expect(parseVariantOptions(stacked, { codingSize: undefined }).codingSize).toBe(30);
  });

  it('fails on an unknown key with UnknownOption naming the accepted flags', () => {
    const err = expectCode(
      () => parseVariantOptions(stacked, { learningRate: '0.1' }),
      'UnknownOption',
    );
    expect(err.message).toContain('"stacked"');
    expect(err.message).toContain('--learning-rate');
    for (const flag of [
      'hidden-units',
      'dropout-rate',
      'activation',
      'tied-weights',
      'coding-size',
    ]) {
      expect(err.message).toContain(`"--${flag}"`);
    }
    expect(err.hint).toContain('aekit variants stacked');
  });

  it('fails on a value of the wrong type with InvalidVariantOptions naming the flag', () => {
    const err = expectCode(
      () => parseVariantOptions(stacked, { 'dropout-rate': 'lots' }),
      'InvalidVariantOptions',
    );
    expect(err.message).toContain('--dropout-rate');
    expect(err.message).not.toContain('--hidden-units');
    expect(err.hint).toContain('aekit variants stacked');
  });

  it('fails on an out-of-range value, a bad list element and an unknown choice', () => {
    expect(
      expectCode(
        () => parseVariantOptions(stacked, { dropoutRate: '1.5' }),
        'InvalidVariantOptions',
      ).message,
    ).toContain('--dropout-rate');
    // A bad list element is named by its 1-based position.
    expect(
      expectCode(
        () => parseVariantOptions(stacked, { 'hidden-units': '100,x' }),
        'InvalidVariantOptions',
      ).message,
    ).toContain('--hidden-units (item 2):');
    expect(
      expectCode(
        () => parseVariantOptions(stacked, { 'hidden-units': '100,2.5' }),
        'InvalidVariantOptions',
      ).message,
    ).toContain('--hidden-units');
    expect(
      expectCode(
        () => parseVariantOptions(stacked, { activation: 'sigmoid' }),
        'InvalidVariantOptions',
      ).message,
    ).toContain('--activation');
    expect(
      expectCode(() => parseVariantOptions(stacked, { codingSize: '' }), 'InvalidVariantOptions')
        .message,
    ).toContain('--coding-size');
  });
});
