import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { lineChartPng, svgToPng } from './chart.js';

/** Pixels darker than mid-grey in a PNG: where something was drawn on the white. */
function darkPixels(png: Buffer): number {
  const { data } = PNG.sync.read(png);
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i]! < 128 && data[i + 3]! > 0) dark++;
  return dark;
}

describe('charts', () => {
  // resvg draws text only with the fonts it is given: the bundled DejaVu Sans, not the
  // machine's (a container or a fresh Linux has none, and its charts had no text at all).
  it('draw their text with the bundled font, whatever fonts the machine has', () => {
    const text = (content: string) =>
      svgToPng(
        `<svg xmlns="http://www.w3.org/2000/svg" width="220" height="40"><rect width="220" height="40" fill="white"/><text x="8" y="28" font-family="sans-serif" font-size="20">${content}</text></svg>`,
      );
    // "loss 0.0924" at 20 px, rendered at twice the size: 1,935 dark pixels here.
    expect(darkPixels(text('loss 0.0924'))).toBeGreaterThan(500);
    expect(darkPixels(text(''))).toBe(0);
  });

  it('label a line chart: its title, axis titles and ticks add ink to the lines', async () => {
    const points = [0, 1, 2].flatMap((x) => [
      { x, y: 1 / (x + 1), series: 'loss' },
      { x, y: 0.8 / (x + 1), series: 'val_loss' },
    ]);
    const plain = await lineChartPng(points, { title: '', xTitle: '', yTitle: '' });
    const titled = await lineChartPng(points, {
      title: 'Training loss',
      xTitle: 'epoch',
      yTitle: 'binary cross-entropy',
    });
    // The titles alone (about 40 characters of 11-13 px text at twice the size) added 3,773
    // dark pixels here; a chart drawn without a font adds none.
    expect(darkPixels(titled) - darkPixels(plain)).toBeGreaterThan(1000);
  });
});
