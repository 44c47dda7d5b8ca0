import { readFileSync } from 'node:fs';

/** A bare specifier: a package name, perhaps scoped, perhaps with a subpath. */
const PACKAGE = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/.*)?$/i;

/**
 * The packages a source file imports: static, dynamic and side-effect imports, re-exports
 * and `require()`, by package name (`@scope/name` or `name`); relative, `node:` and
 * non-package specifiers, and anything inside block comments, are left out.
 */
export function importedPackages(file: string): string[] {
  const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const specs = [
    ...code.matchAll(
      /(?:\bfrom\s+|(?<![.#\w$])import\s*\(\s*|(?<![.#\w$])require\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm,
    ),
  ].map((m) => m[1]!);
  return specs
    .filter((s) => PACKAGE.test(s) && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}
