import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `aekit` command (run `npm run build` first). */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin.js');

/** What one `aekit` run printed, and its exit status. */
export interface AekitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `aekit` with `args` in a child process; never rejects. */
export function aekit(...args: string[]): Promise<AekitResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Trains `variant` with `aekit train` on 300 MNIST digits for one epoch (wasm, no figures)
 * into `out`: a small real run for the tests that export and serve it.
 */
export function trainSmall(
  variant: string,
  out: string,
  ...options: string[]
): Promise<AekitResult> {
  return aekit(
    ...['train', '--variant', variant, ...options, '--data', 'mnist', '--limit', '300'],
    ...['--epochs', '1', '--backend', 'wasm', '--no-figures', '--out', out],
  );
}

/**
 * Small stacked, vae and hashing runs in `runs`' folders, trained with {@link trainSmall}
 * and exported with `aekit export`; fails with the command's error output if one fails.
 */
export async function trainAndExportThree(runs: {
  readonly stacked: string;
  readonly vae: string;
  readonly hashing: string;
}): Promise<void> {
  const trained = await Promise.all([
    trainSmall('stacked', runs.stacked, '--layers', '32,10'),
    trainSmall('vae', runs.vae, '--layers', '32', '--coding-size', '2'),
    trainSmall('hashing', runs.hashing, '--layers', '32', '--bits', '16'),
  ]);
  const exported = await Promise.all(Object.values(runs).map((r) => aekit('export', r)));
  for (const r of [...trained, ...exported]) {
    if (r.code !== 0) throw new Error(`aekit exited ${r.code}:\n${r.stderr}`);
  }
}

/** An `aekit serve` started by {@link startServe}. */
export interface ServeProcess {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr(): string;
}

const serving: ChildProcess[] = [];

/**
 * Starts the built `aekit serve ...args` on a free loopback port, on the CPU; resolves when
 * it prints its URL, rejects when it exits first. {@link killServers} stops what is left.
 */
export function startServe(...args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--device', 'cpu', ...args]);
  serving.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      if (url) resolve({ url, child, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`aekit serve exited ${code}: ${stderr}`)));
  });
}

/** Kills every server {@link startServe} started that still runs (for `afterAll`). */
export function killServers(): void {
  for (const child of serving) if (child.exitCode === null) child.kill('SIGKILL');
}
