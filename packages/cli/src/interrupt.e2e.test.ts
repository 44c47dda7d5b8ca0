import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { BIN } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aekit(
  args: string[],
  onStderr?: (text: string, kill: () => void) => void,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, () => child.kill('SIGINT'));
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('Ctrl-C during aekit train', () => {
  it('stops cleanly, keeps the last checkpoint, and the run resumes', async () => {
    const out = join(dir, 'run');
    const common = [
      '--variant',
      'stacked',
      '--data',
      'mnist',
      '--limit',
      '2000',
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      out,
    ];
    let sent = false;
    const first = await aekit(['train', ...common, '--epochs', '100'], (text, kill) => {
      if (!sent && /epoch 1\/100/.test(text)) {
        sent = true;
        kill();
      }
    });
    expect(sent).toBe(true);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('error [TrainingInterrupted]');
    expect(first.stderr).toContain(`aekit train --resume --out ${out}`);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('interrupted');
    const done = manifest.epochsCompleted as number;
    expect(done).toBeGreaterThanOrEqual(1);

    const resumed = await aekit([
      'train',
      '--resume',
      '--epochs',
      String(done + 1),
      '--backend',
      'wasm',
      '--no-figures',
      '--out',
      out,
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming at epoch ${done + 1}`);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).status).toBe('completed');
  });
});
