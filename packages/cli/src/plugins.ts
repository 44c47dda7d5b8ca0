import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aekitError, listVariants } from '@aekit/core';
import { registerBuiltinVariants } from '@aekit/trainers';

/** The `--plugin` values of an argument list (`--plugin X` or `--plugin=X`), in order. */
export function pluginArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === '--plugin' && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
    else if (arg.startsWith('--plugin=')) out.push(arg.slice('--plugin='.length));
  });
  return out;
}

/**
 * The plugins recorded by the runs an argument list names: any argument that is a run
 * directory (it has a manifest.json) whose manifest lists `plugins`.
 */
export function runPlugins(argv: readonly string[]): string[] {
  return argv.flatMap((arg) => {
    const manifest = join(arg, 'manifest.json');
    if (arg.startsWith('-') || !existsSync(manifest)) return [];
    try {
      const plugins = (JSON.parse(readFileSync(manifest, 'utf8')) as { plugins?: unknown }).plugins;
      return Array.isArray(plugins)
        ? plugins.filter((p): p is string => typeof p === 'string')
        : [];
    } catch {
      return [];
    }
  });
}

/** How a plugin is recorded and imported: a package name as is, a path made absolute. */
export function pluginSpecifier(plugin: string): string {
  return plugin.startsWith('.') || isAbsolute(plugin) ? resolve(plugin) : plugin;
}

/**
 * Imports variant plugin modules (package names, or paths of ES modules) so that they
 * register their variants in core's registry, as `@aekit/trainers` does for the built-in
 * ones; a module may also export `register()`, which is then called. Fails with a clear
 * error when a module cannot be loaded or registers nothing.
 */
export async function loadPlugins(plugins: readonly string[]): Promise<void> {
  registerBuiltinVariants();
  for (const plugin of new Set(plugins.map(pluginSpecifier))) {
    const before = new Set(listVariants().map((v) => v.name));
    let mod: Record<string, unknown> & { register?: () => void };
    try {
      mod = await import(isAbsolute(plugin) ? pathToFileURL(plugin).href : plugin);
    } catch (err) {
      throw aekitError(
        'InvalidArgument',
        `--plugin ${plugin}: the module cannot be loaded (${(err as Error).message.split('\n')[0]}). Give an installed package name (npm install it first) or the path of an ES module.`,
      );
    }
    if (typeof mod.register === 'function') mod.register();
    const registered = new Set(listVariants().map((v) => v.name));
    const exported = Object.values(mod as Record<string, unknown>).filter(
      (v): v is { name: string } =>
        typeof v === 'object' && v !== null && 'trainer' in v && 'name' in v,
    );
    const added = [...registered].some((name) => !before.has(name));
    if (!added && !exported.some((v) => registered.has(v.name))) {
      throw aekitError(
        'InvalidArgument',
        `--plugin ${plugin}: the module registered no variant. A plugin calls registerVariant() from @aekit/core when it is imported (or exports register()).`,
      );
    }
  }
}
