/**
 * `changeset version` on a scratch copy of the workspace: every published package gets its
 * next version and a changelog naming the pending changesets, internal dependencies follow,
 * and the changesets are consumed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, scratchWorkspace } from './test-utils/scratch-workspace.js';

const PUBLISHED = ['core', 'trainers', 'export', 'runtime-web', 'cli'];

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}
const manifest = (root: string, pkg: string): Manifest =>
  JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8'));

/** The bump the pending changesets ask for each package (the largest wins). */
function pendingBumps(): Map<string, 'major' | 'minor' | 'patch'> {
  const order = ['patch', 'minor', 'major'] as const;
  const bumps = new Map<string, (typeof order)[number]>();
  const dir = join(ROOT, '.changeset');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
    const front = readFileSync(join(dir, file), 'utf8').split('---')[1] ?? '';
    for (const m of front.matchAll(/"([^"]+)":\s*(major|minor|patch)/g)) {
      const bump = m[2] as (typeof order)[number];
      const was = bumps.get(m[1]!);
      if (!was || order.indexOf(bump) > order.indexOf(was)) bumps.set(m[1]!, bump);
    }
  }
  return bumps;
}

function next(version: string, bump: 'major' | 'minor' | 'patch'): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  if (bump === 'major') return `${major + 1}.0.0`;
  if (bump === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

describe('changeset version', () => {
  let ws: ReturnType<typeof scratchWorkspace>;
  const bumps = pendingBumps();
  beforeAll(() => {
    ws = scratchWorkspace('aekit-changesets-');
    execFileSync('npx', ['--no-install', 'changeset', 'version'], {
      cwd: ws.dir,
      stdio: 'pipe',
    });
  }, 120_000);
  afterAll(() => ws?.dispose());

  it('there are pending changesets for the published packages', () => {
    for (const name of PUBLISHED) expect(bumps.get(`@aekit/${name}`), name).toBeDefined();
  });

  it.each(PUBLISHED)(
    '@aekit/%s: the next version, a changelog entry, dependencies in step',
    (name) => {
      const before = manifest(ROOT, `packages/${name}`);
      const after = manifest(ws.dir, `packages/${name}`);
      expect(after.version).toBe(next(before.version, bumps.get(before.name)!));
      const changelog = readFileSync(join(ws.dir, 'packages', name, 'CHANGELOG.md'), 'utf8');
      expect(changelog).toContain(`## ${after.version}`);
      expect(changelog).toContain('### Minor Changes');
      // The newest entry sits on top, above the previous release's.
      expect(changelog.indexOf(`## ${after.version}`)).toBeLessThan(
        changelog.indexOf(`## ${before.version}`) >>> 0,
      );
      for (const [dep, range] of Object.entries(after.dependencies ?? {})) {
        if (!dep.startsWith('@aekit/')) continue;
        const target = manifest(ws.dir, `packages/${dep.slice('@aekit/'.length)}`);
        expect(range, `${name} -> ${dep}`).toBe(target.version);
      }
    },
  );

  it('consumes the changesets', () => {
    const left = readdirSync(join(ws.dir, '.changeset')).filter(
      (f) => f.endsWith('.md') && f !== 'README.md',
    );
    expect(left).toEqual([]);
    expect(existsSync(join(ws.dir, '.changeset', 'config.json'))).toBe(true);
  });
});
