/**
 * The runtime runs what a model's `aekit.json` declares (capabilities, sampler, graphs) and
 * never a variant by name: no built-in variant's name appears in @aekit/runtime-web's
 * source, code or comments, tests aside. The names come from the trainers' own list, so a
 * new built-in variant is covered as soon as it is registered there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { builtinVariants } from '@aekit/trainers';
import { describe, expect, it } from 'vitest';
import { ROOT } from './test-utils/scratch-workspace.js';

const SOURCE = join(ROOT, 'packages/runtime-web/src');

/** The runtime's non-test TypeScript files. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-utils' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Module specifiers (`@aekit/core/hashing`) name core's modules, not variants: they are
 * left out of the search.
 */
const withoutSpecifiers = (line: string) => line.replace(/@aekit\/[\w-]+(?:\/[\w./-]+)?/g, '');

describe("the runtime's source", () => {
  it('names no built-in variant', () => {
    const names = builtinVariants.map((v) => v.name);
    expect(names.length).toBeGreaterThan(10);
    const files = sourceFiles(SOURCE);
    expect(files.length).toBeGreaterThan(5);
    const found: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const text = withoutSpecifiers(line);
          for (const name of names) {
            if (new RegExp(`\\b${name}\\b`, 'i').test(text)) {
              found.push(`${relative(ROOT, file)}:${i + 1}: "${name}" in ${line.trim()}`);
            }
          }
        });
    }
    expect(found).toEqual([]);
  });
});
