import { imageGrid } from '@aekit/core/node';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { describeLoss } from '../plugin.js';
import { lineChartSpec, specToSvg } from './chart.js';
import { latentGridSpec } from './index.js';
import { colourise, pngSize, tileFigurePng, tileFigureSpec } from './tiles.js';

const tile = (v: number) =>
  imageGrid([[new Float32Array(16).fill(v)]], { sampleShape: [4, 4, 1], range: [0, 1], gap: 0 });

describe('tile figures', () => {
  const options = {
    title: 'first-layer features',
    subtitle: 'each unit',
    rowLabels: ['unit 3', 'unit 11'],
    rows: [
      [
        { png: tile(0), caption: '1.25' },
        { png: tile(1), caption: '-0.500' },
      ],
      [{ png: tile(0.5), caption: '7.00' }],
    ],
    colourScale: {
      title: 'weight',
      domain: [-2, 0, 2],
      colours: ['#2166ac', '#f7f7f7', '#b2182b'],
    },
  };

  it('title the figure, label rows and captions, and draw the colour scale as a legend', async () => {
    const spec = tileFigureSpec(options);
    expect(spec.title).toMatchObject({ text: 'first-layer features', subtitle: 'each unit' });
    const svg = await specToSvg(spec);
    for (const text of ['first-layer features', 'unit 3', 'unit 11', '1.25', '-0.500', '7.00']) {
      expect(svg).toContain(`>${text}<`);
    }
    // The legend: its title and the ends of the scale.
    expect(svg).toContain('>weight<');
    expect(svg).toMatch(/>[−-]2</);
    expect(svg).toContain('<image');
  });

  it('rasterise at twice the chart size', async () => {
    const png = await tileFigurePng({ ...options, colourScale: undefined });
    const { width, height } = PNG.sync.read(png);
    // Two columns of 4-pixel tiles and the row labels (64 px) fit in a chart that Vega pads
    // for the title: wider than the tiles, and drawn at zoom 2.
    expect(width % 2).toBe(0);
    expect(width).toBeGreaterThan(2 * (64 + 2 * 4));
    expect(height).toBeGreaterThan(2 * 2 * 4);
    expect(pngSize(png)).toEqual([width, height]);
  });

  it('colour values as the legend does: the ends and the middle stop exactly', () => {
    const rgb = colourise(Float32Array.of(-2, 0, 2, 5, 1), options.colourScale);
    const hex = (i: number) =>
      Array.from(rgb.subarray(i * 3, i * 3 + 3), (v) =>
        Math.round(v * 255)
          .toString(16)
          .padStart(2, '0'),
      ).join('');
    expect([hex(0), hex(1), hex(2), hex(3)]).toEqual(['2166ac', 'f7f7f7', 'b2182b', 'b2182b']);
    // Halfway between white (f7f7f7) and red (b2182b): the mean of each channel (212.5,
    // 135.5, 145), to within the float32 rounding of the halves.
    const mid = Array.from(rgb.subarray(12, 15), (v) => v * 255);
    for (const [ch, want] of [212.5, 135.5, 145].entries()) {
      expect(Math.abs(mid[ch]! - want)).toBeLessThan(1e-3);
    }
  });
});

describe('loss chart', () => {
  it('names the loss and its unit on the y-axis and never cuts a legend label', async () => {
    const series = 'training: a very long loss term name, longer than the default limit';
    const spec = lineChartSpec(
      [
        { x: 1, y: 2, series },
        { x: 2, y: 1, series },
      ],
      { title: 't', xTitle: 'epoch', yTitle: 'negative ELBO (nats per image)' },
    );
    const svg = await specToSvg(spec);
    expect(svg).toContain('>negative ELBO (nats per image)<');
    expect(svg).toContain(`>${series}<`);
  });
});

describe('the loss a chart names', () => {
  it('is the variant’s own description, or that of its reconstruction loss', () => {
    expect(describeLoss({ reconstructionLoss: 'bce' }, [28, 28, 1])).toEqual({
      name: 'binary cross-entropy',
      unit: 'nats per pixel',
    });
    expect(describeLoss({ reconstructionLoss: 'mse' }, [8])).toEqual({
      name: 'mean squared error',
      unit: 'per value',
    });
    const elbo = { name: 'negative ELBO', unit: 'nats per image' };
    expect(describeLoss({ reconstructionLoss: 'bce', lossDescription: elbo }, [28, 28])).toBe(elbo);
  });
});

describe('latent grid', () => {
  it('puts the coordinates of the codings on both axes', async () => {
    const png = imageGrid([[new Float32Array(4)]], { sampleShape: [2, 2], gap: 0, scale: 10 });
    const svg = await specToSvg(latentGridSpec(png, 'vae: decoded latent grid'));
    expect(svg).toContain('>coding z₁<');
    expect(svg).toContain('>coding z₂<');
    for (const tick of ['−2', '−1', '0', '1', '2']) expect(svg).toContain(`>${tick}<`);
  });
});
