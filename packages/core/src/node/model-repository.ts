/**
 * Reading a Triton-layout model repository that `aekit export RUN --repository DIR` wrote:
 *
 * ```
 * DIR/NAME-ROLE/config.pbtxt
 * DIR/NAME-ROLE/VERSION/model.onnx
 * DIR/NAME-ROLE/VERSION/aekit.json     { repository: { model, version }, graphs: { ROLE } }
 * ```
 *
 * One run's graphs are the models `NAME-encoder`, `NAME-decoder` (and `NAME-autoencoder`,
 * `NAME-classifier`) with the same version numbers; together they are one autoencoder,
 * which runtimes and servers load as they load an exported run's `onnx/` folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { aekitError } from '../errors.js';
import {
  EXPORTED_MODEL_FILE,
  type ExportedModel,
  parseExportedModelText,
} from '../exported-model.js';

/** The file name of a graph in a repository's version folder, as Triton's ONNX backend reads it. */
export const REPOSITORY_GRAPH_FILE = 'model.onnx';

/** The file name of a model's configuration in a repository. */
export const REPOSITORY_CONFIG_FILE = 'config.pbtxt';

/** The graphs one autoencoder has in a repository; the first two are required. */
export const REPOSITORY_ROLES = Object.freeze([
  'encoder',
  'decoder',
  'autoencoder',
  'classifier',
] as const);

/** One graph of an autoencoder in a repository: one model's version folder. */
export interface RepositoryGraph {
  /** The repository model, `NAME-ROLE`. */
  readonly model: string;
  /** Its version folder. */
  readonly dir: string;
  /** Its `model.onnx`. */
  readonly file: string;
  /** Its `aekit.json`, parsed. */
  readonly metadata: ExportedModel;
}

/** One run's graphs in a repository, at one version. */
export interface RepositoryAutoencoder {
  /** The models' name stem: `NAME` of `NAME-ROLE`. */
  readonly name: string;
  readonly version: number;
  /** The graphs by role; `encoder` and `decoder` are always there. */
  readonly graphs: Readonly<Partial<Record<string, RepositoryGraph>>>;
}

/** What a repository holds. */
export interface ModelRepositoryContents {
  /** The repository folder. */
  readonly dir: string;
  /** Its aekit autoencoders, each at its latest complete version, by name. */
  readonly autoencoders: readonly RepositoryAutoencoder[];
  /** Why other model folders are not among them (e.g. a model with no aekit.json). */
  readonly skipped: readonly string[];
}

const isDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

/** The integer versions in a model folder (folders named by a positive integer), ascending. */
export function repositoryVersions(modelDir: string): number[] {
  if (!isDir(modelDir)) return [];
  return readdirSync(modelDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[1-9][0-9]*$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
}

/** Whether `dir` is a model repository: a folder with a model folder holding config.pbtxt. */
export function isModelRepository(dir: string): boolean {
  if (!isDir(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some(
    (e) => e.isDirectory() && existsSync(join(dir, e.name, REPOSITORY_CONFIG_FILE)),
  );
}

/** The `aekit.json` of a version folder, or undefined when it has none. */
function metadataOf(versionDir: string): ExportedModel | undefined {
  const path = join(versionDir, EXPORTED_MODEL_FILE);
  if (!existsSync(path)) return undefined;
  return parseExportedModelText(readFileSync(path, 'utf8'), versionDir);
}

/** The role a repository graph's aekit.json describes (its one `graphs` entry). */
function roleOf(metadata: ExportedModel): string | undefined {
  const roles = Object.keys(metadata.graphs ?? {});
  return roles.length === 1 ? roles[0] : undefined;
}

/**
 * The autoencoder `name` at `version` of the repository `root`: its graphs' version folders.
 *
 * @throws AekitError `ModelLoadFailed` when the encoder or the decoder is missing at that
 *   version.
 */
export function repositoryAutoencoder(
  root: string,
  name: string,
  version: number,
): RepositoryAutoencoder {
  const graphs: Record<string, RepositoryGraph> = {};
  for (const role of REPOSITORY_ROLES) {
    const model = `${name}-${role}`;
    const dir = join(root, model, String(version));
    const file = join(dir, REPOSITORY_GRAPH_FILE);
    const metadata = existsSync(file) ? metadataOf(dir) : undefined;
    if (metadata) graphs[role] = { model, dir, file, metadata };
    else if (role === 'encoder' || role === 'decoder') {
      throw aekitError(
        'ModelLoadFailed',
        join(root, model),
        `the repository has no version ${version} of ${model} (${REPOSITORY_GRAPH_FILE} and ${EXPORTED_MODEL_FILE}); export the run again with --repository.`,
      );
    }
  }
  return { name, version, graphs };
}

/**
 * The autoencoder a repository folder belongs to, or undefined when `dir` is not in a
 * repository: `dir` is a model folder (`DIR/NAME-ROLE`: its latest version) or a version
 * folder (`DIR/NAME-ROLE/VERSION`) of any of the run's graphs.
 *
 * @throws AekitError `ModelLoadFailed` when a graph it needs is missing.
 */
export function repositoryAutoencoderOf(dir: string): RepositoryAutoencoder | undefined {
  const path = resolve(dir);
  let versionDir = path;
  if (existsSync(join(path, REPOSITORY_CONFIG_FILE))) {
    const versions = repositoryVersions(path);
    if (versions.length === 0) {
      throw aekitError(
        'ModelLoadFailed',
        path,
        'it is a repository model folder with no version folder (1/, 2/ ...) in it.',
      );
    }
    versionDir = join(path, String(versions[versions.length - 1]));
  }
  const metadata = metadataOf(versionDir);
  const role = metadata && roleOf(metadata);
  const entry = metadata?.repository;
  if (!entry || !role || !entry.model.endsWith(`-${role}`)) return undefined;
  const modelDir = dirname(versionDir);
  if (basename(modelDir) !== entry.model || basename(versionDir) !== String(entry.version)) {
    throw aekitError(
      'ModelLoadFailed',
      versionDir,
      `its aekit.json says it is ${entry.model}/${entry.version}, but the folder is ${basename(modelDir)}/${basename(versionDir)}; Triton and aekit name models by their folders, so export the run again instead of moving folders.`,
    );
  }
  const name = entry.model.slice(0, -(role.length + 1));
  return repositoryAutoencoder(dirname(modelDir), name, entry.version);
}

/**
 * Lists the aekit autoencoders in a model repository, each at the latest version for which
 * both its encoder and its decoder are there (Triton's default version policy serves each
 * model's latest version; aekit's export gives a run's graphs the same numbers).
 *
 * @throws AekitError `ModelLoadFailed` when `dir` is not a model repository.
 */
export function readModelRepository(dir: string): ModelRepositoryContents {
  const root = resolve(dir);
  if (!isModelRepository(root)) {
    throw aekitError(
      'ModelLoadFailed',
      root,
      `it is not a model repository (no folder in it holds ${REPOSITORY_CONFIG_FILE}); write one with \`aekit export RUN --repository ${dir}\`.`,
    );
  }
  const skipped: string[] = [];
  const found = new Map<string, Map<number, Set<string>>>();
  const folders = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, REPOSITORY_CONFIG_FILE)))
    .map((e) => e.name)
    .sort();
  for (const model of folders) {
    const described = repositoryVersions(join(root, model)).flatMap((version) => {
      const metadata = metadataOf(join(root, model, String(version)));
      const role = metadata && roleOf(metadata);
      return role && metadata.repository?.model === model ? [{ version, role }] : [];
    });
    if (described.length === 0) {
      skipped.push(
        `${model}: no version of it has an aekit.json (aekit serves the models \`aekit export\` wrote)`,
      );
      continue;
    }
    for (const { version, role } of described) {
      const name = model.slice(0, -(role.length + 1));
      const versions = found.get(name) ?? new Map<number, Set<string>>();
      found.set(name, versions);
      const roles = versions.get(version) ?? new Set<string>();
      versions.set(version, roles);
      roles.add(role);
    }
  }
  const autoencoders: RepositoryAutoencoder[] = [];
  for (const [name, versions] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const complete = [...versions]
      .filter(([, roles]) => roles.has('encoder') && roles.has('decoder'))
      .map(([version]) => version)
      .sort((a, b) => b - a);
    if (complete.length === 0) {
      skipped.push(`${name}: no version has both ${name}-encoder and ${name}-decoder`);
      continue;
    }
    autoencoders.push(repositoryAutoencoder(root, name, complete[0]!));
  }
  return { dir: root, autoencoders, skipped };
}
