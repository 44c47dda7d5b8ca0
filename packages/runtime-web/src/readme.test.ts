import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, PYTHON_TORCH } from '../../core/src/test-utils/requirements.js';
import { makeTorchModels, type TorchModels } from './test-utils/models.js';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe.skipIf(missing(PYTHON_TORCH))('README', () => {
  let models: TorchModels;
  beforeAll(() => {
    models = makeTorchModels();
  });
  afterAll(() => rmSync(models.dir, { recursive: true, force: true }));

  it('runs the Node example as written', () => {
    const readme = readFileSync(resolve(PACKAGE, 'README.md'), 'utf8');
    const example = /## Node[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain("from '@aekit/runtime-web'");
    // Run from the package folder, so that '@aekit/runtime-web' resolves as in a user's project.
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', example!], {
      cwd: PACKAGE,
      // FORCE_COLOR=0: plain console.log output even when the runner (Nx) forces colours.
      env: { ...process.env, AEKIT_MODEL: models.dir, FORCE_COLOR: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^(cpu|webgpu): \[6\] -> \[3\] \[ 2, 3 \] \[ 2, 6 \] \[ 2, 6 \]\n$/);
  });
});
