import {
  type Autoencoder,
  type HashIndex,
  type LoadProgress,
  loadAutoencoder,
  loadHashIndex,
  type ModelBytes,
} from '@aekit/runtime-web';
import { imageBlock, type TestImages } from './data.js';

/** Download progress of one model, or `done` once it has loaded (or failed). */
export type ModelProgress = { readonly name: string } & (
  | { readonly done: false; readonly progress: LoadProgress }
  | { readonly done: true }
);

/** One model of public/models/index.json. */
export interface ModelEntry {
  readonly name: string;
  readonly title: string;
  readonly variant: string;
  readonly capabilities: readonly string[];
  readonly codingShape: readonly number[];
  /** Its test MSE over the mean image's, measured when it was built (below 1: better). */
  readonly mseRatio?: number;
  readonly hashIndex?: string;
}

/** public/models/index.json, written by scripts/prepare.mjs. */
export interface ModelIndex {
  readonly testImages: number;
  readonly trainImages: number;
  readonly models: readonly ModelEntry[];
}

export async function loadModelIndex(): Promise<ModelIndex> {
  const res = await fetch(new URL('models/index.json', document.baseURI));
  if (!res.ok)
    throw new Error(
      `models/index.json: HTTP ${res.status} (run npm run playground to build the models)`,
    );
  return (await res.json()) as ModelIndex;
}

/**
 * Loaded models on one device; sessions are opened once and reused by every view. Each
 * model runs in the page's one Web Worker, so that drawing never waits for a session.
 */
export class ModelStore {
  #device: string;
  #listeners = new Set<(p: ModelProgress) => void>();
  #loaded = new Map<string, Promise<Autoencoder>>();
  /** Models a visitor loaded from their own files, by name. */
  #own = new Map<string, ModelBytes>();
  #indexes = new Map<string, Promise<HashIndex>>();
  #codings = new Map<string, Promise<Float32Array>>();

  constructor(device: string) {
    this.#device = device;
  }

  get device(): string {
    return this.#device;
  }

  /** Calls `listener` with the download progress of every model loaded from now on. */
  onProgress(listener: (p: ModelProgress) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #report(p: ModelProgress): void {
    for (const listener of this.#listeners) listener(p);
  }

  /** The model `name`, loading it on first use. */
  get(name: string): Promise<Autoencoder> {
    let model = this.#loaded.get(name);
    if (!model) {
      const own = this.#own.get(name);
      // Bars for the load only, not for graphs fetched on first use later (autoencoder.onnx).
      let loading = true;
      model = loadAutoencoder(own ?? new URL(`models/${name}/`, document.baseURI), {
        device: this.#device,
        worker: true,
        onProgress: (progress) => {
          if (loading) this.#report({ name, done: false, progress });
        },
      });
      this.#loaded.set(name, model);
      const done = () => {
        loading = false;
        this.#report({ name, done: true });
      };
      model.then(done, () => {
        done();
        this.#loaded.delete(name);
      });
    }
    return model;
  }

  /**
   * Adds a model from a visitor's exported files (encoder.onnx, decoder.onnx, optionally
   * autoencoder.onnx and aekit.json) and loads it, so that errors show at once.
   */
  async addOwn(name: string, files: ModelBytes): Promise<Autoencoder> {
    const old = this.#loaded.get(name);
    this.#loaded.delete(name);
    await old?.then((ae) => ae.dispose()).catch(() => undefined);
    this.#own.set(name, files);
    for (const key of this.#codings.keys())
      if (key.startsWith(`${name}/`)) this.#codings.delete(key);
    return this.get(name);
  }

  /**
   * The codings of the first `count` images of `images` by model `name`, back to back:
   * encoded once per model and count, for views that show or average them. A failure is
   * not kept, so the next call tries again.
   */
  testCodings(name: string, images: TestImages, count = images.count): Promise<Float32Array> {
    const key = `${name}/${count}`;
    let z = this.#codings.get(key);
    if (!z) {
      z = (async () => {
        const ae = await this.get(name);
        const n = Math.min(count, images.count);
        const x = imageBlock(images, n);
        return (await ae.encode({ data: x, shape: [n, 28, 28, 1] })).data;
      })();
      z.catch(() => this.#codings.delete(key));
      this.#codings.set(key, z);
    }
    return z;
  }

  /** A model's hash index (models/NAME/FILE). */
  hashIndex(name: string, file: string): Promise<HashIndex> {
    let index = this.#indexes.get(name);
    if (!index) {
      index = loadHashIndex(new URL(`models/${name}/${file}`, document.baseURI));
      this.#indexes.set(name, index);
    }
    return index;
  }

  /** Switches device: every model is released and loads again on the new one. */
  async setDevice(device: string): Promise<void> {
    const old = [...this.#loaded.values()];
    this.#loaded.clear();
    this.#device = device;
    await Promise.all(old.map((m) => m.then((ae) => ae.dispose()).catch(() => undefined)));
  }
}
