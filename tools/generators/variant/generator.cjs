// @ts-check
// The `variant` generator: `nx g @aekit/tools:variant NAME [--external]`. Nx loads
// generators with require(), and Node 20 cannot load TypeScript without a transpiler the
// workspace does not otherwise need, so this one is CommonJS, type-checked through JSDoc.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { generateFiles, installPackagesTask, names, readJson } = require('@nx/devkit');

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const REGISTER_ALL = 'packages/trainers/src/register-all.ts';

/**
 * @typedef {object} VariantGeneratorOptions
 * @property {string} name kebab case, what `aekit train --variant` takes
 * @property {boolean} [external] its own package instead of a folder of @aekit/trainers
 * @property {string} [scope] npm scope of the package (default `@aekit`)
 * @property {boolean} [skipInstall] with `external`: no `npm install` afterwards
 * @property {boolean} [skipFormat] do not run Biome over the written files
 */

/** @param {string} message */
function fail(message) {
  throw new Error(`aekit variant generator: ${message}`);
}

/**
 * Adds the variant to @aekit/trainers' list of built-in variants: an import after the
 * last variant import, and an entry at the end of `builtinVariants`.
 * @param {import('@nx/devkit').Tree} tree
 * @param {string} name
 * @param {string} symbol
 */
function registerBuiltin(tree, name, symbol) {
  const source = tree.read(REGISTER_ALL, 'utf-8');
  if (!source) fail(`${REGISTER_ALL} is missing: is this the aekit workspace?`);
  const imports = [...source.matchAll(/^import .* from '\.\/variants\/[^']+';$/gm)];
  const last = imports[imports.length - 1];
  const listEnd = source.indexOf(']);', source.indexOf('export const builtinVariants'));
  if (!last || last.index === undefined || listEnd < 0)
    fail(
      `${REGISTER_ALL} no longer has the shape this generator edits (variant imports, then builtinVariants = Object.freeze([...]))`,
    );
  const importLine = `import { ${symbol} } from './variants/${name}/index.js';`;
  const afterImports = last.index + last[0].length;
  const updated =
    source.slice(0, afterImports) +
    `\n${importLine}` +
    source.slice(afterImports, listEnd) +
    `  ${symbol},\n` +
    source.slice(listEnd);
  tree.write(REGISTER_ALL, updated);
}

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {VariantGeneratorOptions} options
 */
async function variantGenerator(tree, options) {
  const name = String(options.name ?? '');
  if (!NAME.test(name))
    fail(
      `the name must be kebab case (lower-case words joined by "-", e.g. my-variant), got "${name}".`,
    );
  const external = options.external === true;
  const scope = options.scope ?? '@aekit';
  const { className, propertyName } = names(name);
  // my-variant -> "My variant autoencoder"
  const title = `${name.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase())} autoencoder`;
  const trainers = readJson(tree, 'packages/trainers/package.json');
  const core = readJson(tree, 'packages/core/package.json');
  const builtins = tree.children('packages/trainers/src/variants');
  if (builtins.includes(name)) fail(`@aekit/trainers already has a variant folder "${name}".`);

  const packageRoot = `packages/variant-${name}`;
  const variantDir = external ? `${packageRoot}/src` : `packages/trainers/src/variants/${name}`;
  if (external && tree.exists(packageRoot)) fail(`${packageRoot} already exists.`);
  const fileName = external ? 'variant' : 'index';
  const substitutions = {
    tmpl: '',
    name,
    fileName,
    title,
    className,
    propertyName,
    external,
    packageName: `${scope}/variant-${name}`,
    aekitVersion: trainers.version,
    tfjsVersion: trainers.dependencies['@tensorflow/tfjs-core'],
    zodVersion: core.dependencies.zod,
    sourcePath: external ? 'src/variant.ts' : `packages/trainers/src/variants/${name}/index.ts`,
    testPath: external
      ? `${packageRoot}/src/${name}.test.ts`
      : `packages/trainers/src/variants/${name}/${name}.test.ts`,
  };
  const files = join(__dirname, 'files');
  generateFiles(tree, join(files, 'variant'), variantDir, substitutions);
  generateFiles(tree, join(files, 'readme'), external ? packageRoot : variantDir, substitutions);
  if (external) generateFiles(tree, join(files, 'package'), packageRoot, substitutions);
  else registerBuiltin(tree, name, `${propertyName}Variant`);

  const written = tree
    .listChanges()
    .filter((c) => c.type !== 'DELETE' && /\.(ts|json)$/.test(c.path))
    .map((c) => c.path);
  return () => {
    // Biome is the workspace's formatter; long names can move line breaks in the templates.
    if (!options.skipFormat && written.length > 0)
      execFileSync('npx', ['biome', 'check', '--write', ...written], {
        cwd: tree.root,
        stdio: 'inherit',
      });
    // Links the new package into node_modules, where --plugin and imports resolve it.
    if (external && !options.skipInstall) installPackagesTask(tree, true);
  };
}

module.exports = variantGenerator;
module.exports.default = variantGenerator;
