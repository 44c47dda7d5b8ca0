import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, missing } from '../../core/src/test-utils/requirements.js';
import { withChromium } from '../../runtime-web/src/test-utils/chromium.js';
import { aekit } from './test-utils/aekit.js';

const dir = mkdtempSync(join(tmpdir(), 'aekit-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runs = { r1: join(dir, 'r1'), r2: join(dir, 'r2'), r3: join(dir, 'r3') };
const report = join(dir, 'report.html');
/** Where the project keeps its screenshots. */
const SHOTS = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'apps',
  'playground',
  'test-results',
);

/** Three small real runs: two stacked ones of different layers and a denoising one. */
async function trainThree(): Promise<void> {
  const common = ['--data', 'mnist', '--limit', '1000', '--epochs', '2', '--backend', 'wasm'];
  const trained = [
    await aekit('train', '--variant', 'stacked', '--layers', '100,30', ...common, '--out', runs.r1),
    await aekit('train', '--variant', 'stacked', '--layers', '64,16', ...common, '--out', runs.r2),
    await aekit('train', '--variant', 'denoising', ...common, '--out', runs.r3),
  ];
  for (const r of trained) if (r.code !== 0) throw new Error(`aekit train failed:\n${r.stderr}`);
}

describe('aekit report', () => {
  beforeAll(trainThree, 120_000);

  it('writes one page about three runs: their charts, settings and figures', async () => {
    const r = await aekit('report', runs.r1, runs.r2, runs.r3, '--out', report);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Report of 3 runs written to .*report\.html \(\d+ KiB\): 4 charts \(loss, valLoss, seconds, samplesPerSecond\)\./,
    );
    const html = readFileSync(report, 'utf8');
    // Self-contained: no script, style or image comes from elsewhere.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src="(?!data:)/);
    console.log(`[report] three runs: ${statSync(report).size} bytes`);
  });

  it.skipIf(missing(CHROMIUM))(
    'opens from the disk in Chromium with every chart drawn, loading nothing',
    async () => {
      const seen: string[] = [];
      await withChromium(async (page, { context, logs }) => {
        // Anything but the file itself is counted and refused.
        await context.route('**/*', (route) => {
          const url = route.request().url();
          return url.startsWith('file:') ? route.continue() : route.abort();
        });
        page.on('request', (req) => {
          if (!/^(file|data):/.test(req.url())) seen.push(req.url());
        });
        await page.setViewportSize({ width: 1400, height: 1000 });
        await page.goto(pathToFileURL(report).href);
        await page.waitForSelector('body[data-charts]', { timeout: 30_000 });
        expect(await page.getAttribute('body', 'data-charts')).toBe('ready');

        // One chart per logged term, each drawn (SVG) with one line per run and a legend
        // naming the three runs.
        const charts = await page.$$eval('.chart', (els) =>
          els.map((el) => ({
            term: el.getAttribute('data-term'),
            rendered: el.getAttribute('data-rendered'),
            lines: el.querySelectorAll('svg g.mark-line path').length,
            points: el.querySelectorAll('svg g.mark-symbol.role-mark path').length,
            legend: [...el.querySelectorAll('svg .role-legend-label text')].map(
              (t) => t.textContent,
            ),
          })),
        );
        expect(charts.map((c) => c.term)).toEqual([
          'loss',
          'valLoss',
          'seconds',
          'samplesPerSecond',
        ]);
        for (const c of charts) {
          expect(c, c.term ?? '').toMatchObject({
            rendered: 'true',
            lines: 3,
            legend: ['r1', 'r2', 'r3'],
          });
          // Two epochs per run.
          expect(c.points, c.term ?? '').toBe(6);
        }

        // The screenshot shows every run in every chart, before the legend picks one.
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true });

        // The legend picks a run: the other lines fade.
        const loss = page.locator('#chart-0');
        const opacities = () =>
          loss
            .locator('g.mark-line path')
            .evaluateAll((ps) => ps.map((p) => p.getAttribute('opacity')));
        expect(await opacities()).toEqual(['1', '1', '1']);
        await loss.locator('.role-legend-symbol path').nth(1).click({ force: true });
        expect(await opacities()).toEqual(['0.12', '1', '0.12']);

        // A point's tooltip names its run, epoch and value.
        await loss.locator('g.mark-symbol.role-mark path').first().hover({ force: true });
        await expect
          .poll(() => page.locator('#tooltip').textContent())
          .toMatch(/^run: r\d\nepoch: [12]\nloss \(training\): 0\.\d+$/);

        // Settings side by side: the rows that differ are marked, the others not.
        const differing = await page.$$eval('#settings tr.differs', (rows) =>
          rows.map((r) => r.getAttribute('data-key')),
        );
        expect(differing).toEqual(['variant', 'options.layers', 'codingShape']);
        expect(
          await page.locator('#settings tr[data-key="training.batchSize"]').getAttribute('class'),
        ).toBeNull();
        expect(await page.locator('#differs').textContent()).toContain(
          'options.layers: r1 [100,30] · r2 [64,16] · r3 [100,30]',
        );

        // Every figure of every run, decoded.
        const images = await page.$$eval('figure img', (imgs) =>
          imgs.map((i) => (i as HTMLImageElement).naturalWidth),
        );
        expect(images).toHaveLength(6);
        for (const w of images) expect(w).toBeGreaterThan(0);

        expect(logs.filter((l) => /^(error|warning|pageerror)/.test(l))).toEqual([]);
      });
      expect(seen).toEqual([]);
    },
    90_000,
  );

  it('evaluates the runs with --eval', async () => {
    const out = join(dir, 'eval.html');
    const r = await aekit('report', runs.r1, runs.r2, '--eval', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('report: evaluating r1…');
    const html = readFileSync(out, 'utf8');
    const table = /<table id="evaluation">(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    // Each run on the 10,000 digits of MNIST's test split.
    expect(table.match(/<td>test<\/td><td class="num">10000<\/td>/g)).toHaveLength(2);
  }, 60_000);

  it('refuses a folder that is not a run, and an existing file without --overwrite', async () => {
    const notRun = join(dir, 'not-a-run');
    mkdirSync(notRun, { recursive: true });
    const out = join(dir, 'refused.html');
    const bad = await aekit('report', runs.r1, notRun, '--out', out);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Run directory not found.');
    expect(bad.stderr).toContain(`"${notRun}" is not a complete run: manifest.json is missing.`);
    expect(() => statSync(out)).toThrow();

    writeFileSync(out, 'mine');
    const taken = await aekit('report', runs.r1, '--out', out);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('Cannot write the output.');
    expect(taken.stderr).toContain('the file exists; pass --overwrite to replace it.');
    expect(readFileSync(out, 'utf8')).toBe('mine');

    const replaced = await aekit('report', runs.r1, '--out', out, '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
  }, 60_000);
});
