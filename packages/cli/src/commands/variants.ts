import {
  describeOptions,
  getVariant,
  listVariants,
  type OptionInfo,
  type VariantPlugin,
} from '@aekit/core';
import type { Command } from 'commander';
import { optionHelp } from '../flags.js';
import type { Output } from '../output.js';

/** `aekit variants [name]`: the registry, or one variant's options. */
export function variantsCommand(name: string | undefined, json: boolean, output: Output): void {
  const plugins = name ? [getVariant(name)] : listVariants();
  if (json) {
    output.out(
      JSON.stringify(
        plugins.map((p) => ({
          name: p.name,
          title: p.title,
          description: p.description,
          capabilities: p.capabilities,
          options: describeOptions(p.options),
        })),
        null,
        2,
      ),
    );
    return;
  }
  if (name) {
    const p = plugins[0]!;
    output.out(`${p.name} — ${p.title}`);
    output.out(`  ${p.description}`);
    if (p.capabilities.length) output.out(`  capabilities: ${p.capabilities.join(', ')}`);
    output.out('  options:');
    for (const line of optionLines(describeOptions(p.options), optionHelp)) {
      output.out(`    ${line}`);
    }
    output.out(`Train it with: aekit train --variant ${p.name} --data mnist --out runs/${p.name}`);
    return;
  }
  const width = Math.max(...plugins.map((p) => p.name.length)) + 2;
  for (const p of plugins) {
    const can = p.capabilities.length ? `  (${p.capabilities.join(', ')})` : '';
    output.out(`${p.name.padEnd(width)}${p.title}${can}`);
  }
  const shared = sharedOptions(plugins);
  if (shared.length > 0) {
    output.out('');
    output.out('Options of several variants (their defaults may differ):');
    for (const line of optionLines(shared, (o) => o.description)) output.out(`  ${line}`);
  }
  output.out('');
  output.out('One variant, its options and defaults: aekit variants NAME');
  output.out('Train one with: aekit train --variant NAME --data mnist --out runs/NAME');
}

/** One line per option, `--flag <type>` in a column, then `text(option)`. */
function optionLines(
  options: readonly OptionInfo[],
  text: (option: OptionInfo) => string,
): string[] {
  const flags = options.map((o) => `--${o.flag} <${o.type}>`);
  const width = Math.max(...flags.map((f) => f.length)) + 2;
  return options.map((o, i) => `${flags[i]!.padEnd(width)}${text(o)}`);
}

/**
 * The options two variants or more take, once each, in the order they first appear, with the
 * description most of them give.
 */
export function sharedOptions(plugins: readonly VariantPlugin[]): OptionInfo[] {
  const seen = new Map<string, OptionInfo[]>();
  for (const p of plugins) {
    for (const o of describeOptions(p.options)) seen.set(o.flag, [...(seen.get(o.flag) ?? []), o]);
  }
  return [...seen.values()]
    .filter((infos) => infos.length > 1)
    .map((infos) => {
      const counts = new Map<string, number>();
      for (const o of infos) counts.set(o.description, (counts.get(o.description) ?? 0) + 1);
      const description = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      return { ...infos[0]!, description };
    });
}

/** Registers `aekit variants`. */
export function registerVariants(program: Command, output: Output): void {
  program
    .command('variants')
    .description('List the registered autoencoder variants and their options.')
    .argument('[name]', 'show only this variant, with its description')
    .option('--json', 'print as JSON')
    .option(
      '--plugin <module>',
      'import a variant plugin first (repeatable)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .action((name: string | undefined, opts: { json?: boolean }) => {
      variantsCommand(name, Boolean(opts.json), output);
    });
}
