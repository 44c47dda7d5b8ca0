import { describeOptions, getVariant, listVariants } from '@aekit/core';
import type { Command } from 'commander';
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
  for (const p of plugins) {
    output.out(`${p.name} — ${p.title}`);
    if (name) output.out(`  ${p.description}`);
    if (p.capabilities.length) output.out(`  capabilities: ${p.capabilities.join(', ')}`);
    for (const o of describeOptions(p.options)) {
      const choices = o.choices ? ` (${o.choices.join('|')})` : '';
      const def =
        o.default !== undefined
          ? ` [default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}]`
          : '';
      output.out(`    --${o.flag} <${o.type}>${choices}  ${o.description}${def}`);
    }
    output.out('');
  }
  if (!name) output.out('Train one with: aekit train --variant NAME --data mnist --out runs/NAME');
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
