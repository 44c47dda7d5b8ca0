import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './test-utils/scratch-workspace.js';

describe('package-lock.json', () => {
  // `npm ci` (CI, Docker builds) refuses a lockfile that misses any package the manifests
  // ask for, including the optional platform builds of Biome and Nx for other systems.
  it('is complete: npm ci accepts it', () => {
    const r = spawnSync('npm', ['ci', '--dry-run', '--no-audit', '--no-fund'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });
});
