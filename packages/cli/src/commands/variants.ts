import { describeOptions, getVariant, listVariants } from '@aekit/core';
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
