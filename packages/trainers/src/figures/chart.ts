import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** One point of a line chart. */
export interface SeriesPoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

/** Options of {@link lineChartPng}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly width?: number;
  readonly height?: number;
}

/** The Vega-Lite spec of a line chart: one line per series, its legend never cut. */
export function lineChartSpec(
  points: readonly SeriesPoint[],
  options: LineChartOptions,
): vegaLite.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: options.width ?? 480,
    height: options.height ?? 280,
    background: 'white',
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, axis: { tickMinStep: 1 } },
      y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { zero: false } },
      // No limit on the labels' length: a legend entry is never cut short.
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 0 } },
    },
  };
}

/**
 * A line chart (one line per series) as PNG: specified with Vega-Lite ({@link lineChartSpec}),
 * rendered to SVG by Vega, rasterised by resvg.
 */
export function lineChartPng(
  points: readonly SeriesPoint[],
  options: LineChartOptions,
): Promise<Buffer> {
  return specToPng(lineChartSpec(points, options));
}

/** A Vega-Lite spec rendered to SVG by Vega. */
export async function specToSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** A Vega-Lite spec rendered to SVG by Vega and rasterised by resvg. */
export async function specToPng(spec: vegaLite.TopLevelSpec): Promise<Buffer> {
  return svgToPng(await specToSvg(spec));
}

/**
 * DejaVu Sans (regular and bold) from the `dejavu-fonts-ttf` package: resvg draws text only
 * with fonts it is given, and many machines have none installed (containers, a fresh Linux),
 * where a chart would come out without a word on it. The same files everywhere also make
 * the figures the same everywhere.
 */
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) =>
  createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/${file}`),
);

/** An SVG rasterised by resvg at twice its size, its text in the bundled DejaVu Sans. */
export function svgToPng(svg: string): Buffer {
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      loadSystemFonts: false,
      fontFiles: FONT_FILES,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}
