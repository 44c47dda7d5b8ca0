import { execFile } from 'node:child_process';
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
