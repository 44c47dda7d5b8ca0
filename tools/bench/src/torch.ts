import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The PyTorch reference script, shipped with the package (`reference/`). */
export const TORCH_SCRIPT = fileURLToPath(new URL('../reference/bench_torch.py', import.meta.url));

/** The Python `aekit bench` runs the reference with unless `--python` says otherwise. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** How to get PyTorch, for the note printed when it is missing. */
export const TORCH_INSTALL_HINT =
  'install PyTorch for /usr/bin/python3 with `apt-get install python3-torch` (Debian, Ubuntu), ' +
  'or pass --python PATH to a Python that has torch';

/** How every reference run is started. */
export interface TorchSettings {
  /** The Python interpreter. */
  readonly python: string;
  /** `torch.set_num_threads`. */
  readonly threads: number;
  readonly device: 'cpu' | 'cuda';
  readonly seed: number;
  /** Folder with the MNIST IDX files. */
  readonly dataDir: string;
}

/** The fields every reference run reports (the JSON line of `bench_torch.py`). */
export interface TorchCommon {
  readonly samplesPerSecond: number;
  /** CPU seconds per wall-clock second over the timed part. */
  readonly coresBusy: number;
  readonly threads: number;
  readonly device: string;
  readonly deviceName: string;
  readonly torch: string;
  readonly python: string;
  readonly ompWaitPolicy: string | null;
}

/** A training run of the reference. */
export interface TorchTrainResult extends TorchCommon {
  readonly mode: 'train';
  readonly samples: number;
  readonly epochMs: readonly number[];
  readonly trainLoss: number;
  readonly testLoss: number;
  readonly testSamples: number;
  /** Whether it started from aekit's initial weights and followed aekit's batch order. */
  readonly replayed: boolean;
}

/** An encode run of the reference. */
export interface TorchEncodeResult extends TorchCommon {
  readonly mode: 'encode';
  readonly calls: number;
  readonly seconds: number;
  readonly msPerCall: number;
}

/**
 * What one reference run gave: its result, or why there was none. `unavailable` means no
 * later run can succeed either (no Python, no torch, no CUDA, no data), so the bench stops
 * asking; `missing` (no Python or no torch) is a note, not a failure.
 */
export type TorchOutcome<R> =
  | { readonly ok: true; readonly result: R }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly unavailable: boolean;
      readonly missing: boolean;
    };

/**
 * OMP_WAIT_POLICY for the reference: the user's, else PASSIVE. With OpenMP's default (spin,
 * then sleep) two torch threads on a 2-vCPU virtual machine were erratic, often several
 * times slower than one thread, because the spinning threads fight the Node process and
 * each other for the cores; PASSIVE threads sleep at once and gave steady numbers.
 */
export function ompWaitPolicy(): { readonly value: string; readonly source: string } {
  const own = process.env.OMP_WAIT_POLICY;
  return own
    ? { value: own, source: 'environment' }
    : { value: 'PASSIVE', source: 'set by aekit bench' };
}

/** Runs `bench_torch.py MODE ARGS` and reads its one JSON line. */
export function runTorch<R extends TorchTrainResult | TorchEncodeResult>(
  settings: TorchSettings,
  mode: R['mode'],
  args: readonly string[],
): Promise<TorchOutcome<R>> {
  if (!existsSync(TORCH_SCRIPT)) {
    return Promise.resolve({
      ok: false,
      reason: `the reference script ${TORCH_SCRIPT} is missing from the installed @aekit/cli`,
      unavailable: true,
      missing: false,
    });
  }
  const argv = [
    TORCH_SCRIPT,
    mode,
    ...args,
    '--threads',
    String(settings.threads),
    '--device',
    settings.device,
    '--seed',
    String(settings.seed),
    '--data-dir',
    settings.dataDir,
  ];
  return new Promise((resolve) => {
    const child = spawn(settings.python, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_WAIT_POLICY: ompWaitPolicy().value },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve({
        ok: false,
        reason:
          err.code === 'ENOENT'
            ? `${settings.python} was not found; ${TORCH_INSTALL_HINT}`
            : `${settings.python} could not be started (${err.message})`,
        unavailable: true,
        missing: err.code === 'ENOENT',
      });
    });
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(last) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
      const error = typeof parsed?.error === 'string' ? parsed.error : undefined;
      if (code === 0 && parsed && !error && typeof parsed.samplesPerSecond === 'number') {
        resolve({ ok: true, result: parsed as unknown as R });
      } else if (error === 'torch-missing') {
        resolve({
          ok: false,
          reason: `torch cannot be imported by ${settings.python}; ${TORCH_INSTALL_HINT}`,
          unavailable: true,
          missing: true,
        });
      } else if (error) {
        resolve({
          ok: false,
          reason: `bench_torch.py: ${String(parsed?.message ?? error)}`,
          unavailable: true,
          missing: false,
        });
      } else {
        const why = stderr.trim().split('\n').slice(-6).join('\n') || '(no output)';
        resolve({
          ok: false,
          reason: `bench_torch.py ${mode} exited with status ${code}: ${why}`,
          unavailable: false,
          missing: false,
        });
      }
    });
  });
}
