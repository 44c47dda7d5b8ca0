import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { aekitError, aekitErrorWithCause, isAekitError } from '../errors.js';
import {
  type EpochMetrics,
  epochMetricsSchema,
  manifestSchema,
  type RunFileRecord,
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
  ENOENT: 'a folder on the path does not exist.',
};

/**
 * Runs `write`, turning a filesystem error that a user can cause (permissions, a read-only
 * or full disk, a file where a folder should be) into `CannotWrite` naming `path`.
 */
export function writingTo<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw writeFailure(err, path);
  }
}

/** `err` as `CannotWrite` naming `path` when it is one of {@link WRITE_FAILURES}, else itself. */
function writeFailure(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code ? WRITE_FAILURES[code] : undefined;
  return reason === undefined ? err : aekitErrorWithCause(err, 'CannotWrite', path, reason);
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

/** sha256 (hex) of `data`. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The lock file of a run being written, inside the run directory. */
export const RUN_LOCK = '.aekit.lock';

/** Who holds a run's lock (the contents of {@link RUN_LOCK}). */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** A lock file that is still being written (or was left unreadable) counts as held for this long. */
const UNREADABLE_LOCK_MS = 60_000;

/** The lock file's text and owner: `gone` once removed, `unreadable` while half written. */
function readOwner(path: string): { text: string; owner: LockOwner | 'unreadable' } | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return { text: '', owner: 'unreadable' };
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (Number.isInteger(owner.pid) && typeof owner.host === 'string') return { text, owner };
  } catch {}
  return { text, owner: 'unreadable' };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The run layout's folders that aekit creates, deepest first (removed when left empty). */
const RUN_FOLDERS = ['onnx', 'figures', 'checkpoints', 'model'];

/** A temporary file of an atomic write (`name.<decimal>`) that a killed process left behind. */
const ATOMIC_LEFTOVER = /^(.+)\.\d{1,10}$/;

/**
 * A run directory (see the design): manifest.json, metrics.jsonl, model/, checkpoints/,
 * figures/, onnx/. Every file in it is written atomically, and the manifest lists each with
 * its sha256 (`files`): {@link readFile} verifies what it reads against that list, and
 * `overwrite` removes only the files listed (and the run layout's own), never a file aekit
 * did not write. A process that writes a run holds its {@link lock}.
 */
export class RunDirectory {
  readonly root: string;
  /** Files written through this object since the manifest was last written or read. */
  #written = new Map<string, RunFileRecord>();
  /** The manifest as last read or written: the sha256 of each file it lists. */
  #files: Readonly<Record<string, RunFileRecord>> = {};

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
   * Takes the run's exclusive lock ({@link RUN_LOCK}: pid, host and start time), creating
   * the folder if needed, and returns the function that releases it. A lock held by a live
   * process fails with `RunLocked`; one whose process is gone (same host, pid not running)
   * is stale and taken over. The lock is released on exit too (not on `kill -9`: the next
   * writer finds it stale). A folder this call created is removed again on release if the
   * run left nothing in it.
   */
  lock(): () => void {
    const created = !existsSync(this.root);
    writingTo(this.root, () => mkdirSync(this.root, { recursive: true }));
    if (!statSync(this.root).isDirectory()) {
      throw aekitError('CannotWrite', this.root, 'it is a file, not a folder.');
    }
    const path = this.path(RUN_LOCK);
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
    };
    const text = JSON.stringify(me);
    for (let attempt = 0; ; attempt++) {
      try {
        // `wx` creates the file only if it does not exist: of two writers, one gets it.
        writeFileSync(path, text, { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw writeFailure(err, path);
        }
      }
      const found = readOwner(path);
      if (found === 'gone') {
        if (attempt < 3) continue;
        throw aekitError('RunLocked', this.root, 'a lock taken and released again and again');
      }
      const { owner } = found;
      const stale =
        owner === 'unreadable'
          ? Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) >
            UNREADABLE_LOCK_MS
          : owner.host === me.host && !processAlive(owner.pid);
      if (!stale || attempt >= 3) {
        const who =
          owner === 'unreadable'
            ? 'a lock file being written'
            : `pid ${owner.pid} on ${owner.host}, since ${owner.startedAt}`;
        throw aekitError('RunLocked', this.root, who);
      }
      // The stale lock's process is gone: remove it, unless another writer replaced it
      // meanwhile (then the next attempt finds that writer's live lock).
      const again = readOwner(path);
      if (again !== 'gone' && again.text === found.text) rmSync(path, { force: true });
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      try {
        if (readFileSync(path, 'utf8') === text) unlinkSync(path);
      } catch {}
      if (created) {
        try {
          rmdirSync(this.root);
        } catch {}
      }
    };
    process.on('exit', release);
    return release;
  }

  /**
   * Prepares the folder for a new run (the caller holds the {@link lock}). A folder that
   * holds anything but an aekit run fails with `RunDirectoryNotEmpty`; an existing run
   * with `RunDirectoryExists` unless `overwrite`, which removes the files aekit wrote there
   * (and nothing else).
   */
  create(overwrite = false): void {
    const previous = this.checkCreate(overwrite);
    if (previous) this.removeRunFiles(previous);
    this.#written.clear();
    this.#files = {};
    for (const dir of ['model', 'checkpoints', 'figures'])
      writingTo(this.path(dir), () => mkdirSync(this.path(dir), { recursive: true }));
  }

  /**
   * Fails as {@link create} would, without touching anything: `RunDirectoryNotEmpty` for a
   * folder of other files, `RunDirectoryExists` for a run without `overwrite`. Returns the
   * manifest of the run that `overwrite` replaces, if any.
   */
  checkCreate(overwrite = false): RunManifest | undefined {
    const entries = existsSync(this.root)
      ? readdirSync(this.root).filter((name) => name !== RUN_LOCK)
      : [];
    if (entries.length === 0) return undefined;
    let manifest: RunManifest | undefined;
    if (this.exists()) {
      try {
        manifest = this.readManifest();
      } catch (err) {
        if (!isAekitError(err, 'InvalidManifest')) throw err;
      }
    }
    if (!manifest) throw aekitError('RunDirectoryNotEmpty', this.root, entries.sort());
    if (!overwrite) throw aekitError('RunDirectoryExists', this.root);
    return manifest;
  }

  /** The files of the run `manifest` describes, relative to the root: listed or by layout. */
  runFiles(manifest: RunManifest): string[] {
    const files = new Set(Object.keys(manifest.files ?? {}));
    for (const name of ['metrics.jsonl', 'checkpoints/last.ckpt']) files.add(name);
    for (const dir of Object.values(manifest.networks)) {
      files.add(`${dir}/model.json`);
      files.add(`${dir}/weights.bin`);
    }
    if (manifest.onnx) {
      for (const file of manifest.onnx.files) files.add(file);
      files.add('onnx/aekit.json');
    }
    // Only paths inside the run: a hand-edited manifest cannot send a removal elsewhere.
    return [...files].filter((f) => {
      const rel = relative(this.root, this.path(f));
      return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
    });
  }

  /**
   * Removes the run's files (see {@link runFiles}), the leftovers of atomic writes that a
   * killed process left beside them, then the manifest and the layout's folders left empty.
   */
  private removeRunFiles(manifest: RunManifest): void {
    const files = this.runFiles(manifest);
    for (const file of [...files, ...this.leftovers(files)]) {
      writingTo(this.path(file), () => rmSync(this.path(file), { force: true }));
    }
    writingTo(this.manifestPath, () => rmSync(this.manifestPath, { force: true }));
    const dirs = new Set<string>();
    for (const file of files) {
      for (let d = dirname(file); d !== '.'; d = dirname(d)) dirs.add(d);
    }
    for (const dir of [...dirs, ...RUN_FOLDERS].sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(this.path(dir));
      } catch {}
    }
  }

  /**
   * Temporary files of atomic writes (`weights.bin.123456`) beside `files` (relative paths)
   * and the manifest, left by a process killed mid-write.
   */
  leftovers(
    files: readonly string[] = this.exists() ? this.runFiles(this.readManifest()) : [],
  ): string[] {
    const wanted = new Set([...files, 'manifest.json']);
    const found: string[] = [];
    for (const dir of new Set([...wanted].map((f) => dirname(f)))) {
      let names: string[];
      try {
        names = readdirSync(this.path(dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const rel = dir === '.' ? name : `${dir}/${name}`;
        const base = ATOMIC_LEFTOVER.exec(rel)?.[1];
        if (base !== undefined && wanted.has(base)) found.push(rel);
      }
    }
    return found;
  }

  /** Removes the {@link leftovers} of atomic writes (a resumed run starts clean). */
  removeLeftovers(): string[] {
    const found = this.leftovers();
    for (const rel of found) rmSync(this.path(rel), { force: true });
    return found;
  }

  /**
   * Validates and writes manifest.json, listing in `files` every file written through
   * this object (with its sha256 and size) beside those the manifest already listed.
   */
  writeManifest(manifest: RunManifest): void {
    const files = { ...(manifest.files ?? {}), ...Object.fromEntries(this.#written) };
    const withFiles = Object.keys(files).length > 0 ? { ...manifest, files } : manifest;
    const checked = manifestSchema.parse(withFiles);
    writeAtomic(this.manifestPath, `${JSON.stringify(checked, null, 2)}\n`);
    if (checked.files) manifest.files = checked.files;
    this.#files = checked.files ?? {};
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
    this.#files = { ...(result.data.files ?? {}), ...Object.fromEntries(this.#written) };
    return result.data;
  }

  /** The lines of metrics.jsonl, validated. */
  readMetrics(): EpochMetrics[] {
    if (!existsSync(this.metricsPath)) return [];
    return readFileSync(this.metricsPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        let line: unknown;
        try {
          line = JSON.parse(l);
        } catch (err) {
          throw aekitError(
            'CorruptRunFile',
            this.metricsPath,
            `line ${i + 1}: ${(err as Error).message}`,
          );
        }
        const parsed = epochMetricsSchema.safeParse(line);
        if (!parsed.success) {
          throw aekitError(
            'CorruptRunFile',
            this.metricsPath,
            `line ${i + 1}: ${formatIssues(parsed.error, false)}`,
          );
        }
        return parsed.data;
      });
  }

  /**
   * Replaces metrics.jsonl with `lines` (the file is rewritten whole and atomically, so a
   * crash never leaves half a line).
   */
  writeMetrics(lines: readonly EpochMetrics[]): void {
    this.writeFile('metrics.jsonl', lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  /** Writes a file inside the run atomically; the next manifest lists it with its sha256. */
  writeFile(relativePath: string, data: string | Uint8Array): void {
    writeAtomic(this.path(relativePath), data);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.#written.set(relativePath, { sha256: sha256Hex(bytes), bytes: bytes.byteLength });
  }

  /**
   * Reads a file inside the run. When the manifest (as last read or written) lists it, its
   * sha256 must match: a file changed since aekit wrote it fails with `CorruptRunFile`.
   * Files that change between manifest writes (the checkpoint, which checks itself) pass
   * `verify: false`.
   */
  readFile(relativePath: string, options: { verify?: boolean } = {}): Buffer {
    const path = this.path(relativePath);
    if (!existsSync(path)) throw aekitError('RunNotFound', this.root, `${relativePath} is missing`);
    const data = readFileSync(path);
    const record = this.#files[relativePath];
    if (record && options.verify !== false) {
      if (data.byteLength !== record.bytes) {
        throw aekitError(
          'CorruptRunFile',
          path,
          `it holds ${data.byteLength} bytes; the manifest records ${record.bytes}.`,
        );
      }
      const sha = sha256Hex(data);
      if (sha !== record.sha256) {
        throw aekitError(
          'CorruptRunFile',
          path,
          `its sha256 is ${sha.slice(0, 12)}…, the manifest records ${record.sha256.slice(0, 12)}….`,
        );
      }
    }
    return data;
  }
}
