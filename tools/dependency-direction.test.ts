/**
 * The project graph keeps the intended direction: @aekit/core at the bottom; export and
 * runtime-web and postgres on core only; server on core and runtime-web; trainers on core and export
 * (`exportRun` exports a run directory with `@aekit/export`; export never loads trainers);
 * the CLI and the playground on top. A variant plugin package (packages/variant-*) sits beside trainers. `@aekit/bench`
 * (tools/bench: `aekit bench`) runs on core and the libraries, and only the CLI, which
 * loads it, depends on it. Nothing depends on the tools.
 *
 * The edges are Nx's project graph (declared dependencies, and imports of declared ones)
 * plus every import of a workspace package found in a project's files, tests included,
 * since Nx leaves out imports of packages a project does not declare.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importedPackages } from './test-utils/imports.js';
import { ROOT } from './test-utils/scratch-workspace.js';

const LIBRARIES = [
  '@aekit/trainers',
  '@aekit/export',
  '@aekit/runtime-web',
  '@aekit/server',
  '@aekit/postgres',
];

/** What each library depends on: core, and trainers on export. */
const LIBRARY_EDGES: Readonly<Record<string, readonly string[]>> = {
  '@aekit/trainers': ['@aekit/core', '@aekit/export'],
  '@aekit/export': ['@aekit/core'],
  '@aekit/runtime-web': ['@aekit/core'],
  '@aekit/server': ['@aekit/core', '@aekit/runtime-web'],
  '@aekit/postgres': ['@aekit/core'],
};

/** What each project may depend on. */
function allowed(project: string): readonly string[] | undefined {
  if (project === '@aekit/core') return [];
  if (LIBRARIES.includes(project)) return LIBRARY_EDGES[project];
  if (project === '@aekit/bench') return ['@aekit/core', ...LIBRARIES];
  if (project === '@aekit/cli') return ['@aekit/core', ...LIBRARIES, '@aekit/bench'];
  if (project === '@aekit/playground') return ['@aekit/core', ...LIBRARIES];
  // A plugin runs on core and trainers; its tests may export and serve it.
  if (/\/variant-[a-z0-9-]+$/.test(project)) return ['@aekit/core', ...LIBRARIES];
  if (project === '@aekit/tools')
    return ['@aekit/core', ...LIBRARIES, '@aekit/cli', '@aekit/bench'];
  return undefined;
}

/** Every code file under `dir`, without installed or built folders. */
function codeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return ['node_modules', 'dist', 'public', '.models'].includes(e.name) ? [] : codeFiles(path);
    return /\.(ts|tsx|js|mjs|cjs)$/.test(e.name) || e.name.endsWith('__tmpl__') ? [path] : [];
  });
}

interface ProjectGraph {
  graph: {
    nodes: Record<string, { data: { root: string } }>;
    dependencies: Record<string, { source: string; target: string; type: string }[]>;
  };
}

describe('dependency direction', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-graph-'));
  const file = join(dir, 'graph.json');
  execFileSync('npx', ['--no-install', 'nx', 'graph', `--file=${file}`], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  });
  const { graph } = JSON.parse(readFileSync(file, 'utf8')) as ProjectGraph;
  rmSync(dir, { recursive: true, force: true });
  const projects = Object.keys(graph.nodes);
  const edges = (p: string) => {
    const imported = codeFiles(join(ROOT, graph.nodes[p]!.data.root))
      .flatMap(importedPackages)
      .filter((name) => projects.includes(name));
    const declared = (graph.dependencies[p] ?? []).map((d) => d.target);
    return [...new Set([...declared, ...imported])]
      .filter((t) => projects.includes(t) && t !== p)
      .sort();
  };

  it('every project has a place in the layering', () => {
    expect(projects).toEqual(
      expect.arrayContaining([
        '@aekit/core',
        ...LIBRARIES,
        '@aekit/cli',
        '@aekit/bench',
        '@aekit/playground',
      ]),
    );
    expect(projects.filter((p) => allowed(p) === undefined)).toEqual([]);
  });

  it.each(projects.sort())('%s depends only on what lies below it', (project) => {
    const forbidden = edges(project).filter((t) => !allowed(project)?.includes(t));
    expect(
      forbidden,
      `${project} may depend on ${allowed(project)?.join(', ') || 'nothing'}`,
    ).toEqual([]);
  });

  it('the libraries each build on core (trainers on export too), and the CLI on all of them', () => {
    for (const library of LIBRARIES) expect(edges(library)).toEqual(LIBRARY_EDGES[library]);
    expect(edges('@aekit/cli')).toEqual(expect.arrayContaining(['@aekit/core', ...LIBRARIES]));
  });

  it('only the CLI (and the tools) depend on @aekit/bench', () => {
    const dependents = projects.filter((p) => edges(p).includes('@aekit/bench'));
    expect(dependents.filter((p) => p !== '@aekit/cli' && p !== '@aekit/tools')).toEqual([]);
  });
});
