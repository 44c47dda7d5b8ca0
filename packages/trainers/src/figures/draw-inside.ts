import type { Dataset, RunManifest } from '@aekit/core';
import { imageGrid, type RunDirectory } from '@aekit/core/node';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { AutoencoderModel } from '../plugin.js';
import { svgToPng } from './chart.js';
import {
  codingMap,
  codingsOf,
  dreams,
  firstLayerFeatures,
  liveliestUnits,
  topActivations,
} from './inside.js';

/** Options of {@link drawInsideFigures}. */
export interface InsideOptions {
  /** Units shown in features.png, top-activations.png and dreams.png (default 16). */
  readonly units?: number;
  /** Inputs shown per unit in top-activations.png (default 8). */
  readonly top?: number;
  /** Training samples searched for the top activations (default 5,000). */
  readonly searched?: number;
  /** Held-out samples placed on map.png (default 2,000). */
  readonly mapSamples?: number;
  /** Gradient-ascent steps of each dream (default 200). */
  readonly dreamSteps?: number;
  readonly seed?: number;
  /**
   * Called as each figure starts (`features`, `top-activations`, `dreams`, `map`, and in
   * `drawFigures` `loss`), for progress: some take seconds.
   */
  readonly onFigure?: (name: string) => void;
}

/** Rows of `perRow` images. */
function rowsOf(images: readonly Float32Array[], perRow: number): Float32Array[][] {
  const rows: Float32Array[][] = [];
  for (let i = 0; i < images.length; i += perRow) rows.push(images.slice(i, i + perRow));
  return rows;
}

function rangeOf(x: Float32Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

const isImageShape = (shape: readonly number[]) =>
  shape.length === 3 && (shape[2] === 1 || shape[2] === 3);

/** Sample `i` of `data`. */
const sampleOf = (data: Dataset, i: number) =>
  data.x.subarray(i * data.featureCount, (i + 1) * data.featureCount);

/** The 2-D map as a Vega-Lite scatter plot coloured by label, with a few thumbnails. */
async function mapPng(
  points: readonly [number, number][],
  labels: Int32Array | undefined,
  thumbnails: { index: number; png: Buffer }[],
  title: string,
): Promise<Buffer> {
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 480,
    background: 'white',
    layer: [
      {
        data: {
          values: points.map(([x, y], i) => ({ x, y, label: labels ? String(labels[i]) : '' })),
        },
        mark: { type: 'circle', size: 14, opacity: 0.7 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'UMAP 1', axis: null },
          y: { field: 'y', type: 'quantitative', title: 'UMAP 2', axis: null },
          color: labels
            ? { field: 'label', type: 'nominal', title: 'label', scale: { scheme: 'category10' } }
            : { value: '#4c78a8' },
        },
      },
      {
        data: {
          values: thumbnails.map(({ index, png }) => ({
            x: points[index]![0],
            y: points[index]![1],
            url: `data:image/png;base64,${png.toString('base64')}`,
          })),
        },
        mark: { type: 'image', width: 26, height: 26 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          url: { field: 'url', type: 'nominal' },
        },
      },
    ],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svgToPng(svg);
}

/**
 * `aekit figures`: writes figures/features.png (first-layer weights of the first units),
 * top-activations.png (for the liveliest coding units, the training inputs that excite
 * each most), dreams.png (for the same units, the input gradient ascent finds), map.png
 * (held-out codings in 2-D by UMAP, coloured by label, with thumbnails) and, beside each
 * figure but the map, a JSON file of its data; map.json holds the points. Returns the
 * paths written. Figures that do not apply (features of a network whose first layer is not
 * on the inputs, image figures of non-image data) are skipped.
 */
export async function drawInsideFigures(
  run: RunDirectory,
  manifest: RunManifest,
  model: AutoencoderModel,
  train: Dataset,
  heldOut: Dataset,
  options: InsideOptions = {},
): Promise<string[]> {
  const { units = 16, top = 8, searched = 5000, mapSamples = 2000, dreamSteps = 200 } = options;
  const seed = options.seed ?? manifest.training.seed;
  const inputShape = manifest.inputShape;
  const images = isImageShape(inputShape);
  const written: string[] = [];
  const write = (name: string, data: Buffer | string) => {
    run.writeFile(`figures/${name}`, data);
    written.push(run.path('figures', name));
  };
  const json = (value: unknown) => `${JSON.stringify(value)}\n`;

  options.onFigure?.('features');
  const features = firstLayerFeatures(model, inputShape, units);
  if (features && isImageShape(features.shape)) {
    // Each unit on its own scale, symmetric about 0 (grey): weights of either sign show.
    const scaled = features.images.map((img) => {
      const m = Math.max(1e-12, ...Array.from(img, Math.abs));
      return Float32Array.from(img, (v) => v / m);
    });
    write(
      'features.png',
      imageGrid(rowsOf(scaled, 8), { sampleShape: features.shape, range: [-1, 1] }),
    );
    write(
      'features.json',
      json({ ...features, images: features.images.map((img) => Array.from(img)) }),
    );
  }

  options.onFigure?.('top-activations');
  const pool = train.slice(0, Math.min(searched, train.count));
  const { codings, d } = await codingsOf(model, pool);
  const shown = liveliestUnits(codings, d, units);
  const range = rangeOf(pool.x);
  const best = topActivations(codings, d, shown, top);
  if (images) {
    write(
      'top-activations.png',
      imageGrid(
        best.map((row) => row.map((i) => sampleOf(pool, i))),
        { sampleShape: inputShape, range },
      ),
    );
  }
  write(
    'top-activations.json',
    json({
      units: shown,
      samples: best,
      activations: best.map((row, r) => row.map((i) => codings[i * d + shown[r]!])),
    }),
  );

  options.onFigure?.('dreams');
  const dreamt = dreams(model, inputShape, shown, { range, steps: dreamSteps, seed });
  if (images) {
    write('dreams.png', imageGrid(rowsOf(dreamt.images, 8), { sampleShape: inputShape, range }));
  }
  write(
    'dreams.json',
    json({
      units: shown,
      activations: dreamt.activations,
      // For comparison: the largest activation of each unit over the searched samples.
      bestSampleActivations: best.map((row, r) => codings[row[0]! * d + shown[r]!]),
      images: dreamt.images.map((img) => Array.from(img)),
    }),
  );

  const placed = heldOut.slice(0, Math.min(mapSamples, heldOut.count));
  if (placed.count >= 16) {
    options.onFigure?.('map');
    const mapped = await codingsOf(model, placed);
    const points = codingMap(mapped.codings, mapped.d, seed);
    const thumbs = images
      ? Array.from({ length: 16 }, (_, t) => Math.floor((t * placed.count) / 16)).map((index) => ({
          index,
          png: imageGrid([[sampleOf(placed, index)]], {
            sampleShape: inputShape,
            range,
            gap: 0,
            scale: 1,
          }),
        }))
      : [];
    write(
      'map.png',
      await mapPng(
        points,
        placed.labels,
        thumbs,
        `${manifest.variant}: codings of ${placed.count} held-out samples (UMAP)`,
      ),
    );
    write(
      'map.json',
      json({
        points,
        ...(placed.labels ? { labels: Array.from(placed.labels) } : {}),
        thumbnails: thumbs.map((t) => t.index),
      }),
    );
  }
  return written;
}
