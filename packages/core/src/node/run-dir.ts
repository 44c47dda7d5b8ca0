import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { aekitError, aekitErrorWithCause } from '../errors.js';
import {
  type EpochMetrics,
  epochMetricsSchema,
  manifestSchema,
  type RunManifest,
} from '../manifest.js';
import { formatIssues } from '../options.js';

/** What each filesystem error code means for a path aekit was writing. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied.',
  EPERM: 'permission denied.',
  EROFS: 'the file system is read-only.',
  ENOTDIR: 'a part of the path is a file, not a folder.',
  EISDIR: 'it is an existing folder; give a file name.',
  ENOSPC: 'no space left on the disk.',
  EDQUOT: 'the disk quota is exhausted.',
  EEXIST: 'a part of the path exists and is not a folder.',
  ENAMETOOLONG: 'the name is too long.',
};

/**
 * Runs `write`, turning a filesystem error that a user can cause (permissions, a read-only
 * or full disk, a file where a folder should be) into `CannotWrite` naming `path`.
 */
export function writingTo<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code ? WRITE_FAILURES[code] : undefined;
    if (reason === undefined) throw err;
    throw aekitErrorWithCause(err, 'CannotWrite', path, reason);
  }
}

/**
 * Writes `data` to `path` atomically (temporary file + rename), creating folders. A path
 * that cannot be written fails with `CannotWrite`; nothing is left at `path` then.
 */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  writingTo(path, () => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic.sync(
      path,
      typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  });
}

/**
 * A run directory (see the design): manifest.json, metrics.jsonl, model/, checkpoints/,
 * figures/. Every file in it is written atomically.
 */
export class RunDirectory {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path of `parts` inside the run. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  get manifestPath(): string {
    return this.path('manifest.json');
  }
  get metricsPath(): string {
    return this.path('metrics.jsonl');
  }
  get checkpointPath(): string {
    return this.path('checkpoints', 'last.ckpt');
  }

  /** True when the folder already holds a run. */
  exists(): boolean {
    return existsSync(this.manifestPath);
  }

  /**
   * Prepares the folder for a new run. An existing run fails with `RunDirectoryExists`
   * unless `overwrite`, which deletes its files first.
   */
  create(overwrite = false): void {
    if (this.exists()) {
      if (!overwrite) throw aekitError('RunDirectoryExists', this.root);
      for (const part of ['manifest.json', 'metrics.jsonl', 'model', 'checkpoints', 'figures']) {
        rmSync(this.path(part), { recursive: true, force: true });
      }
    }
    for (const dir of ['model', 'checkpoints', 'figures'])
      mkdirSync(this.path(dir), { recursive: true });
  }

  /** Validates and writes manifest.json. */
  writeManifest(manifest: RunManifest): void {
    const checked = manifestSchema.parse(manifest);
    writeAtomic(this.manifestPath, `${JSON.stringify(checked, null, 2)}\n`);
  }

  /** Reads and validates manifest.json. */
  readManifest(): RunManifest {
    if (!this.exists()) throw aekitError('RunNotFound', this.root, 'manifest.json is missing');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.manifestPath, 'utf8'));
    } catch (err) {
      throw aekitError('InvalidManifest', this.manifestPath, (err as Error).message);
    }
    const result = manifestSchema.safeParse(json);
    if (!result.success)
      throw aekitError('InvalidManifest', this.manifestPath, formatIssues(result.error, false));
    return result.data;
  }

  /** The lines of metrics.jsonl, validated. */
  readMetrics(): EpochMetrics[] {
    if (!existsSync(this.metricsPath)) return [];
    return readFileSync(this.metricsPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => epochMetricsSchema.parse(JSON.parse(l)));
  }

  /**
   * Replaces metrics.jsonl with `lines` (the file is rewritten whole and atomically, so a
   * crash never leaves half a line).
   */
  writeMetrics(lines: readonly EpochMetrics[]): void {
    writeAtomic(this.metricsPath, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  /** Writes a file inside the run atomically. */
  writeFile(relativePath: string, data: string | Uint8Array): void {
    writeAtomic(this.path(relativePath), data);
  }

  /** Reads a file inside the run. */
  readFile(relativePath: string): Buffer {
    const path = this.path(relativePath);
    if (!existsSync(path)) throw aekitError('RunNotFound', this.root, `${relativePath} is missing`);
    return readFileSync(path);
  }
}
