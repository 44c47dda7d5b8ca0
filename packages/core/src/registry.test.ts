import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VariantRegistry } from './registry.js';
import { expectCode } from './test-utils/index.js';
import { defineVariant } from './variant.js';

const plugin = (name: string, units = 32) =>
  defineVariant({
    name,
    title: `${name} autoencoder`,
    description: `The ${name} variant, for tests.`,
    options: z.object({
      units: z.number().int().positive().default(units).describe('coding units'),
    }),
    capabilities: ['sample'],
    trainer: { build: name },
  });

describe('defineVariant', () => {
  it('returns a frozen copy with frozen capabilities', () => {
    const caps: ('sample' | 'hash')[] = ['sample'];
    const p = defineVariant({
      name: 'x',
      title: 't',
      description: 'd',
      options: z.object({}),
      capabilities: caps,
      trainer: 1,
    });
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.capabilities)).toBe(true);
    caps.push('hash');
    expect(p.capabilities).toEqual(['sample']);
  });
});

describe('VariantRegistry', () => {
  it('registers, finds and lists plugins sorted by name', () => {
    const registry = new VariantRegistry();
    const stacked = plugin('stacked');
    const linear = plugin('linear');
    const sparse = plugin('sparse');
    registry.register(stacked);
    registry.register(linear);
    registry.register(sparse);
    expect(registry.has('linear')).toBe(true);
    expect(registry.has('variational')).toBe(false);
    expect(registry.get('stacked')).toBe(stacked);
    expect(registry.get('linear')).toBe(linear);
    expect(registry.list()).toEqual([linear, sparse, stacked]);
    expect(registry.names()).toEqual(['linear', 'sparse', 'stacked']);
  });

  it('starts empty', () => {
    const registry = new VariantRegistry();
    expect(registry.list()).toEqual([]);
    expect(registry.has('stacked')).toBe(false);
  });

  it('fails on an unknown name with UnknownVariant listing the known names', () => {
    const registry = new VariantRegistry();
    registry.register(plugin('stacked'));
    registry.register(plugin('linear'));
    const err = expectCode(() => registry.get('stackd'), 'UnknownVariant');
    expect(err.message).toContain('"stackd"');
    expect(err.message).toContain('"linear", "stacked"');
    expect(err.hint).toContain('aekit variants');
    expect(err.format()).toContain(err.hint);
  });

  it('says (none) when nothing is registered', () => {
    const err = expectCode(() => new VariantRegistry().get('stacked'), 'UnknownVariant');
    expect(err.message).toContain('(none)');
  });

  it('accepts the same plugin object twice', () => {
    const registry = new VariantRegistry();
    const stacked = plugin('stacked');
    registry.register(stacked);
    expect(() => registry.register(stacked)).not.toThrow();
    expect(registry.names()).toEqual(['stacked']);
    expect(registry.get('stacked')).toBe(stacked);
  });

  it('refuses a different plugin under a taken name with DuplicateVariant', () => {
    const registry = new VariantRegistry();
    const first = plugin('stacked', 32);
    registry.register(first);
    // Equal contents are not enough: only the very same object may be registered again.
    const err = expectCode(() => registry.register(plugin('stacked', 32)), 'DuplicateVariant');
    expect(err.message).toContain('"stacked"');
    expect(registry.get('stacked')).toBe(first);
  });

  it('unregisters, after which the name can be taken again', () => {
    const registry = new VariantRegistry();
    registry.register(plugin('stacked'));
    expect(registry.unregister('stacked')).toBe(true);
    expect(registry.unregister('stacked')).toBe(false);
    expect(registry.has('stacked')).toBe(false);
    const other = plugin('stacked', 8);
    registry.register(other);
    expect(registry.get('stacked')).toBe(other);
  });

  it('keeps separate registries apart', () => {
    const a = new VariantRegistry();
    const b = new VariantRegistry();
    a.register(plugin('stacked'));
    expect(b.has('stacked')).toBe(false);
  });
});
