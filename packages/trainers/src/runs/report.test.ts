import type { EpochMetrics, RunManifest } from '@aekit/core';
import { describe, expect, it } from 'vitest';
import { escapeHtml, type ReportRun, renderReport, runNames } from './report.js';
import { reportTerms, settingRows, termChart } from './report-data.js';

/** A manifest as `aekit train` writes one, with `changes` applied. */
function manifest(changes: Partial<RunManifest> = {}): RunManifest {
  return {
    format: 'aekit-run/1',
    variant: 'stacked',
    options: { layers: [100, 30], activation: 'selu' },
    training: {
      epochs: 2,
      batchSize: 32,
      optimizer: 'adam',
      learningRate: 0.001,
      seed: 42,
      backend: 'wasm',
    },
    inputShape: [28, 28, 1],
    codingShape: [30],
    normalization: { kind: 'unit', scale: 1 / 255, offset: 0 },
    data: {
      source: 'mnist',
      validationSplit: 0.1,
      normalize: 'unit',
      fingerprint: 'f',
      trainCount: 900,
      validationCount: 100,
    },
    networks: { encoder: 'model/encoder', decoder: 'model/decoder' },
    status: 'completed',
    epochsCompleted: 2,
    versions: { '@aekit/core': '0.1.0' },
    createdAt: '2026-12-05T00:00:00.000Z',
    updatedAt: '2026-12-05T00:00:00.000Z',
    ...changes,
  };
}

const line = (epoch: number, extra: Record<string, number> = {}): EpochMetrics => ({
  epoch,
  loss: 1 / epoch,
  valLoss: 1.1 / epoch,
  seconds: 0.2,
  samplesPerSecond: 4000,
  ...extra,
});

function run(name: string, changes: Partial<RunManifest> = {}, extra = {}): ReportRun {
  return {
    name,
    dir: `/runs/${name}`,
    manifest: manifest(changes),
    metrics: [line(1, extra), line(2, extra)],
    figures: [],
  };
}

describe('report data', () => {
  it('names runs by folder, unique', () => {
    expect(runNames(['runs/a', 'runs/b/'])).toEqual(['a', 'b']);
    expect(runNames(['x/run', 'y/run', 'z'])).toEqual(['x/run', 'y/run', 'z']);
    expect(runNames(['x/run', 'x/run'])).toEqual(['x/run (1)', 'x/run (2)']);
  });

  it('charts loss, val_loss, every other logged term, then the timings', () => {
    const runs = [run('a'), run('b', { variant: 'vae' }, { kl: 0.5, reconstruction: 0.3 })];
    expect(reportTerms(runs)).toEqual([
      'loss',
      'valLoss',
      'kl',
      'reconstruction',
      'seconds',
      'samplesPerSecond',
    ]);
    // A term only one run logged: only that run's points, but every run keeps its colour.
    const kl = termChart(runs, 'kl') as {
      data: { values: { run: string }[] };
      encoding: { color: { scale: { domain: string[] } } };
    };
    expect(new Set(kl.data.values.map((v) => v.run))).toEqual(new Set(['b']));
    expect(kl.encoding.color.scale.domain).toEqual(['a', 'b']);
  });

  it('marks the settings that differ between the runs', () => {
    const rows = settingRows([
      run('a'),
      run('b', { options: { layers: [64, 16], activation: 'selu' }, codingShape: [16] }),
    ]);
    const differing = rows.filter((r) => r.differs).map((r) => r.key);
    expect(differing).toEqual(['options.layers', 'codingShape']);
    expect(rows.find((r) => r.key === 'options.layers')?.values).toEqual(['[100,30]', '[64,16]']);
    // A setting one run lacks differs too.
    const lacking = settingRows([run('a'), run('b', { plugins: ['my-plugin'] })]);
    expect(lacking.find((r) => r.key === 'plugins')).toEqual({
      key: 'plugins',
      values: [undefined, '["my-plugin"]'],
      differs: true,
    });
  });
});

describe('renderReport', () => {
  const hostile = '<img src=x onerror="alert(1)">&\'';

  it('escapes the names and values it puts into the page', () => {
    const html = renderReport([
      run(hostile, { options: { layers: [1], note: '</script><b>bold</b>' } }),
      run('b'),
    ]);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain(escapeHtml(hostile));
    // Inside the charts' JSON, no `<` can end the script element.
    const json = /<script id="aekit-charts" type="application\/json">(.*?)<\/script>/s.exec(html);
    expect(json?.[1]).not.toContain('<');
    expect(JSON.parse(json![1]!)[0].term).toBe('loss');
  });

  it('inlines Vega and loads nothing', () => {
    const html = renderReport([run('a')]);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain("default-src 'none'");
    expect(html).toMatch(/\.vega=\{\}/);
    expect(html).toContain('One run: nothing to compare.');
  });
});
