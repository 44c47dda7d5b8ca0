import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, RunDirectory } from '@aekit/core/node';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backends/index.js';
import { disposeNetworks } from '../plugin.js';
import { drawFigures } from '../runs/figures.js';
import { tempDir } from '../test-utils/index.js';
import { runModel, trainMnist } from '../test-utils/mnist.js';
import { specToSvg } from './chart.js';
import {
  dreamsFigure,
  featuresFigure,
  formatValue,
  thumbnailPlaces,
  topActivationsFigure,
} from './draw-inside.js';
import { drawLossFigure, lossTerms } from './index.js';
import { codingsOf, firstLayerFeatures, liveliestUnits, topActivations } from './inside.js';
import { tileFigureSpec } from './tiles.js';

const dir = tempDir();
let run: string;
let written: string[];
beforeAll(async () => {
  await selectBackend('wasm');
  run = (await trainMnist(join(dir, 'stacked'), 'stacked', { limit: 3000, epochs: 3 })).run;
  written = await drawFigures(run, { backend: 'wasm', mapSamples: 1000, searched: 2000 });
});

const figure = (name: string) => join(run, 'figures', name);
const data = (name: string) => JSON.parse(readFileSync(figure(name), 'utf8'));
const png = (name: string) => PNG.sync.read(readFileSync(figure(name)));

describe('aekit figures: what the model learned', () => {
  it('writes every figure with its data', () => {
    for (const name of ['features', 'top-activations', 'dreams', 'map']) {
      expect(written).toContain(figure(`${name}.png`));
      expect(written).toContain(figure(`${name}.json`));
    }
    expect(written).toContain(figure('loss.png'));
    // A stacked autoencoder does not sample.
    expect(written).not.toContain(figure('samples.png'));
    // 16 units, 8 per row: two rows of 28x28 images drawn three times larger (84 px), with
    // the title, captions and legend around them, all at zoom 2.
    const features = png('features.png');
    expect(features.width).toBeGreaterThan(2 * 8 * 84);
    expect(features.height).toBeGreaterThan(2 * 2 * 84);
    const top = png('top-activations.png');
    expect(top.width).toBeGreaterThan(2 * 8 * 84);
    expect(top.height).toBeGreaterThan(2 * 16 * 84);
  });

  it('label each figure: unit indices, activation values, the weights’ colour scale', async () => {
    const { variant } = new RunDirectory(run).readManifest();
    const features = data('features.json');
    const featureSvg = await specToSvg(
      tileFigureSpec(
        featuresFigure(
          { ...features, images: features.images.map((v: number[]) => Float32Array.from(v)) },
          variant,
        ),
      ),
    );
    expect(featureSvg).toContain('>stacked: first-layer features (encoder_dense_1)<');
    for (const u of features.units) expect(featureSvg).toContain(`>unit ${u}<`);
    expect(featureSvg).toContain('>weight<');
    // Blue (negative) and red (positive) weights: a diverging scale, not grey.
    const { data: px } = png('features.png');
    let red = 0;
    let blue = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i]! > px[i + 2]! + 60) red++;
      if (px[i + 2]! > px[i]! + 60) blue++;
    }
    expect(red).toBeGreaterThan(1000);
    expect(blue).toBeGreaterThan(1000);

    const top = data('top-activations.json');
    const blank = new Float32Array(784);
    const shown = {
      variant,
      units: top.units,
      images: top.samples.map((row: number[]) => row.map(() => blank)),
      activations: top.activations,
      sampleShape: [28, 28, 1],
      range: [0, 1] as const,
    };
    const topSvg = await specToSvg(tileFigureSpec(topActivationsFigure(shown, 2000)));
    for (const u of top.units) expect(topSvg).toContain(`>unit ${u}<`);
    for (const a of top.activations.flat()) expect(topSvg).toContain(`>${formatValue(a)}<`);

    const dreamt = data('dreams.json');
    const dreamSvg = await specToSvg(
      tileFigureSpec(
        dreamsFigure(
          {
            ...shown,
            images: dreamt.units.map(() => [blank]),
            activations: dreamt.activations.map((a: number) => [a]),
          },
          dreamt.bestSampleActivations,
          200,
        ),
      ),
    );
    dreamt.units.forEach((u: number, k: number) => {
      const values = `${formatValue(dreamt.activations[k])} / ${formatValue(dreamt.bestSampleActivations[k])}`;
      expect(dreamSvg).toContain(`>unit ${u}<`);
      expect(dreamSvg).toContain(`>${values}<`);
    });
  });

  it('places the map thumbnails without overlap', () => {
    const { points, thumbnails } = data('map.json') as {
      points: [number, number][];
      thumbnails: number[];
    };
    expect(thumbnails).toEqual(thumbnailPlaces(points, 16));
    expect(thumbnails.length).toBeGreaterThanOrEqual(8);
    // In the 560 x 480 plot, over the points' extent, the 26-px thumbnails keep apart.
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const at = (i: number) => [
      (((points[i]![0] - x0) / (x1 - x0)) * 560) / 1.08,
      (((points[i]![1] - y0) / (y1 - y0)) * 480) / 1.08,
    ];
    for (const a of thumbnails) {
      for (const b of thumbnails) {
        if (a === b) continue;
        const [ax, ay] = at(a);
        const [bx, by] = at(b);
        expect(Math.max(Math.abs(ax! - bx!), Math.abs(ay! - by!))).toBeGreaterThanOrEqual(26);
      }
    }
  });

  it("features are the first layer's weights, one image per unit", () => {
    const features = data('features.json');
    const model = runModel(run);
    try {
      const kernel = model.networks.encoder.getLayer('encoder_dense_1').getWeights()[0]!;
      const [inputs, units] = kernel.shape as [number, number];
      const values = kernel.dataSync();
      expect(features).toMatchObject({ layer: 'encoder_dense_1', shape: [28, 28, 1] });
      expect(features.units).toEqual(Array.from({ length: 16 }, (_, u) => u));
      for (const u of [0, 7, 15]) {
        const column = Array.from({ length: inputs }, (_, i) => values[i * units + u]!);
        expect(features.images[u]).toEqual(column.map((v) => Math.fround(v)));
      }
      expect(firstLayerFeatures(model, [28, 28, 1], 100)!.images).toHaveLength(100);
    } finally {
      disposeNetworks(model.networks);
    }
  });

  it('top activations are the inputs where each unit is largest', async () => {
    const top = data('top-activations.json');
    const model = runModel(run);
    try {
      const train = loadDataset({ source: 'mnist', split: 'train', limit: 3000 }).dataset;
      // The figures search the run's training split (the first 2,000 of it), so recompute
      // from the activations they recorded: each unit's 8 are its largest, in order.
      for (let r = 0; r < top.units.length; r++) {
        const acts: number[] = top.activations[r];
        expect([...acts].sort((a, b) => b - a)).toEqual(acts);
      }
      // And on data of our own, topActivations keeps exactly the k largest.
      const { codings, d } = await codingsOf(model, train.slice(0, 500));
      const units = liveliestUnits(codings, d, 4);
      const best = topActivations(codings, d, units, 5);
      units.forEach((u, r) => {
        const chosen = new Set(best[r]);
        const lowest = Math.min(...best[r]!.map((i) => codings[i * d + u]!));
        for (let i = 0; i < 500; i++) {
          if (!chosen.has(i)) expect(codings[i * d + u]!).toBeLessThanOrEqual(lowest);
        }
      });
    } finally {
      disposeNetworks(model.networks);
    }
  });

  it('each dream drives its unit past the best training input', () => {
    const dreams = data('dreams.json');
    // Gradient ascent is not tied to real digits, so it beats the most exciting of 2,000
    // training images (measured: all 16 units here, and on a 20k-image run by a third or more).
    const beaten = dreams.activations.filter(
      (a: number, r: number) => a > dreams.bestSampleActivations[r],
    ).length;
    expect(beaten).toBeGreaterThanOrEqual(14);
    const image = dreams.images[0] as number[];
    expect(Math.min(...image)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...image)).toBeLessThanOrEqual(1);
  });

  it('the map keeps digits together: neighbours in 2-D share labels far above chance', () => {
    const { points, labels } = data('map.json') as { points: number[][]; labels: number[] };
    expect(points).toHaveLength(1000);
    let agree = 0;
    for (let i = 0; i < points.length; i++) {
      const nearest = points
        .map((p, j) => [(p[0]! - points[i]![0]!) ** 2 + (p[1]! - points[i]![1]!) ** 2, j] as const)
        .filter(([, j]) => j !== i)
        .sort((a, b) => a[0] - b[0])
        .slice(0, 5);
      for (const [, j] of nearest) if (labels[j] === labels[i]) agree++;
    }
    // Measured 0.70 here (3,000 images, 3 epochs) and 0.78 after 20,000 images x 5 epochs;
    // chance (the sum of the label frequencies squared) is about 0.1.
    expect(agree / (5 * points.length)).toBeGreaterThan(0.5);
    // The figure is a real chart: many colours, not a blank image.
    const { data: pixels } = png('map.png');
    const colours = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4) {
      colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
    }
    expect(colours.size).toBeGreaterThan(50);
  });

  it('loss.png plots the training and validation loss and every logged term', async () => {
    const metrics = [
      {
        epoch: 1,
        loss: 3,
        valLoss: 3.2,
        reconstruction: 2,
        latent: 1,
        seconds: 1,
        samplesPerSecond: 9,
      },
      {
        epoch: 2,
        loss: 2,
        valLoss: 2.4,
        reconstruction: 1.5,
        latent: 0.5,
        seconds: 1,
        samplesPerSecond: 9,
      },
    ];
    expect(lossTerms(metrics)).toEqual(['reconstruction', 'latent']);
    // Four series, four colours of the category scheme besides the greys of the axes.
    const hues = (name: string) => {
      const { data: px } = png(name);
      const seen = new Set<number>();
      for (let i = 0; i < px.length; i += 4) {
        const [r, g, b] = [px[i]!, px[i + 1]!, px[i + 2]!];
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60)
          seen.add(((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5));
      }
      return seen.size;
    };
    const manifest = new RunDirectory(run).readManifest();
    await drawLossFigure(new RunDirectory(run), manifest, metrics);
    const withTerms = hues('loss.png');
    await drawLossFigure(
      new RunDirectory(run),
      manifest,
      metrics.map(({ epoch, loss, seconds, samplesPerSecond }) => ({
        epoch,
        loss,
        seconds,
        samplesPerSecond,
      })),
    );
    expect(withTerms).toBeGreaterThan(hues('loss.png'));
  });
});
