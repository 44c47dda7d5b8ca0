import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The settings of this machine's npm that reach the registry: kept for fresh projects. */
const NETWORK_SETTINGS = ['registry', 'cafile', 'proxy', 'https-proxy', 'noproxy', 'strict-ssl'];

/**
 * A user config for fresh projects: this machine's network settings and nothing else, so
 * that its other settings (a user's `ignore-scripts`, say) do not decide what a test of
 * install behaviour sees.
 */
function networkOnlyUserConfig(env: NodeJS.ProcessEnv): string {
  const r = spawnSync('npm', ['config', 'ls', '--json'], { env, encoding: 'utf8' });
  const config = (r.status === 0 ? JSON.parse(r.stdout) : {}) as Record<string, unknown>;
  const lines = NETWORK_SETTINGS.flatMap((key) => {
    const value = config[key];
    const text = Array.isArray(value) ? value.filter(Boolean).join(',') : String(value ?? '');
    return text === '' ? [] : [`${key}=${text}`];
  });
  const file = join(mkdtempSync(join(tmpdir(), 'aekit-npmrc-')), 'npmrc');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const withoutNpmVariables = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)),
);

/**
 * The environment of a fresh project: without npm's own variables (under `npm test` or
 * `npx` they name this workspace, npm_config_local_prefix..., and carry its `.npmrc`
 * settings, npm_config_ignore_scripts..., which a fresh project must not see), and with a
 * user config that holds only this machine's network settings.
 */
export const CLEAN_ENV: NodeJS.ProcessEnv = {
  ...withoutNpmVariables,
  npm_config_userconfig: networkOnlyUserConfig(withoutNpmVariables),
};

/** What one npm run printed. */
export interface NpmResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs npm with `args` in `cwd` (in {@link CLEAN_ENV}): the npm on the PATH, or with
 * `version` that major version of npm from the registry (`npx -y npm@10`).
 *
 * @throws Error with everything npm printed when it fails.
 */
export function npm(cwd: string, args: readonly string[], version?: number): NpmResult {
  const [command, full] =
    version === undefined ? ['npm', [...args]] : ['npx', ['-y', `npm@${version}`, ...args]];
  const r = spawnSync(command, full, { cwd, env: CLEAN_ENV, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `${command} ${full.join(' ')} failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stdout}${r.stderr}`,
    );
  }
  return { stdout: r.stdout, stderr: r.stderr };
}
