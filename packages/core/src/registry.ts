import { aekitError } from './errors.js';
import type { VariantPlugin } from './variant.js';

/**
 * A registry of variant plugins, looked up by name.
 *
 * Registering the same plugin object twice is harmless (modules may be imported more than
 * once); registering a different plugin under a taken name fails.
 */
export class VariantRegistry {
  readonly #plugins = new Map<string, VariantPlugin>();

  /** Adds `plugin`; fails with `DuplicateVariant` if another plugin holds its name. */
  register(plugin: VariantPlugin): void {
    const existing = this.#plugins.get(plugin.name);
    if (existing && existing !== plugin) throw aekitError('DuplicateVariant', plugin.name);
    this.#plugins.set(plugin.name, plugin);
  }

  /** Removes the plugin called `name`; returns whether one was there. */
  unregister(name: string): boolean {
    return this.#plugins.delete(name);
  }

  /** True when a plugin called `name` is registered. */
  has(name: string): boolean {
    return this.#plugins.has(name);
  }

  /** The plugin called `name`; fails with `UnknownVariant` listing the known names. */
  get(name: string): VariantPlugin {
    const plugin = this.#plugins.get(name);
    if (!plugin) throw aekitError('UnknownVariant', name, this.names());
    return plugin;
  }

  /** Every registered plugin, sorted by name. */
  list(): VariantPlugin[] {
    return [...this.#plugins.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every registered name, sorted. */
  names(): string[] {
    return this.list().map((p) => p.name);
  }
}

/** The process-wide registry that plugin packages register into. */
export const variants: VariantRegistry = new VariantRegistry();

/** Registers `plugin` in the process-wide registry. */
export function registerVariant(plugin: VariantPlugin): void {
  variants.register(plugin);
}

/** Looks up `name` in the process-wide registry. */
export function getVariant(name: string): VariantPlugin {
  return variants.get(name);
}

/** Every plugin in the process-wide registry, sorted by name. */
export function listVariants(): VariantPlugin[] {
  return variants.list();
}
