/**
 * A scratch copy of this workspace for tests that change it (generators, branches): the
 * tracked and untracked-but-not-ignored files, the packages' built `dist/` folders, and a
 * `node_modules` whose entries link to this workspace's installed packages, except the
 * workspace's own packages, which link to the copy's (as `npm install` would). The copy is
 * a git repository with one commit on `main`.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Links every entry of `from` (a node_modules folder) into `to`, workspace links excepted. */
function linkModules(from: string, to: string, workspace: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymbolicLink()) {
      const link = readlinkSync(source);
      // A workspace package: the same relative link lands in the copy's packages.
      if (!link.startsWith('/') && resolve(from, link).startsWith(`${ROOT}/`)) {
        const inCopy = join(workspace, resolve(from, link).slice(ROOT.length + 1));
        symlinkSync(inCopy, target);
        continue;
      }
    }
    if (entry.isDirectory() && entry.name.startsWith('@')) {
      linkModules(source, target, workspace);
      continue;
    }
    symlinkSync(source, target);
  }
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'aekit test',
      GIT_AUTHOR_EMAIL: 'test@aekit.invalid',
      GIT_COMMITTER_NAME: 'aekit test',
      GIT_COMMITTER_EMAIL: 'test@aekit.invalid',
    },
  });
}

/** A scratch workspace (see the file's comment); `dispose` removes it. */
export function scratchWorkspace(prefix = 'aekit-ws-'): {
  dir: string;
  git: (...args: string[]) => string;
  dispose: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  const projects = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((name) => join(group, name)),
  );
  for (const project of projects) {
    // Built output, so that only what a test changes is rebuilt (tsc -b is incremental).
    if (existsSync(join(ROOT, project, 'dist')))
      cpSync(join(ROOT, project, 'dist'), join(dir, project, 'dist'), { recursive: true });
    if (existsSync(join(ROOT, project, 'node_modules')))
      linkModules(join(ROOT, project, 'node_modules'), join(dir, project, 'node_modules'), dir);
  }
  linkModules(join(ROOT, 'node_modules'), join(dir, 'node_modules'), dir);
  const run = (...args: string[]) => git(dir, ...args);
  run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('commit', '-qm', 'scratch copy');
  return { dir, git: run, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `name` field of a package.json. */
export function packageName(file: string): string {
  return (JSON.parse(readFileSync(file, 'utf8')) as { name: string }).name;
}
