import { loadTestImages } from './data.js';
import { loadModelIndex, ModelStore } from './models.js';
import { progressBars, type View, type ViewContext } from './ui.js';
import { denoiseView } from './views/denoise.js';
import { generateView } from './views/generate.js';
import { hashingView } from './views/hashing.js';
import { reconstructView } from './views/reconstruct.js';
import { unitsView } from './views/units.js';

const VIEWS: Record<string, View> = {
  reconstruct: reconstructView,
  denoise: denoiseView,
  generate: generateView,
  units: unitsView,
  hashing: hashingView,
  // TensorFlow.js and the exporter load only when this view is opened.
  train: (root, ctx) => {
    let cleanup: (() => void) | undefined;
    void import('./views/train.js').then(({ trainView }) => {
      if (ctx.alive()) cleanup = trainView(root, ctx) ?? undefined;
    });
    // Leaving the view stops a training in progress.
    return () => cleanup?.();
  },
};

const main = document.getElementById('view')!;
const statusLine = document.getElementById('status')!;
const deviceSelect = document.getElementById('device') as HTMLSelectElement;
const deviceStatus = document.getElementById('device-status')!;
const status = (text: string) => {
  statusLine.textContent = text;
};

async function start(): Promise<void> {
  const requested = new URLSearchParams(location.search).get('device') ?? 'auto';
  deviceSelect.value = requested;
  const store = new ModelStore(requested);
  deviceStatus.closest('header')?.append(progressBars(store));
  const index = await loadModelIndex();
  const data = await loadTestImages(index.testImages);
  let generation = 0;
  let cleanup: (() => void) | undefined;

  const show = () => {
    const name = location.hash.slice(1) || 'reconstruct';
    const view = VIEWS[name] ?? reconstructView;
    cleanup?.();
    generation++;
    const mine = generation;
    main.replaceChildren();
    for (const a of document.querySelectorAll('nav a')) {
      if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const ctx: ViewContext = { index, data, store, status, alive: () => mine === generation };
    cleanup = view(main, ctx) ?? undefined;
    document.title = `aekit playground: ${name}`;
  };
  const showDevice = async () => {
    // The device a model really runs on ('auto' resolves to wasm or webgpu).
    const first = await store.get(index.models[0]!.name);
    // Why: e.g. 'auto' passing over a software WebGPU adapter, or both devices' timings.
    const reason = first.info.deviceReason?.replace(/^\w+: /, '');
    deviceStatus.textContent = `running on ${first.info.device}${reason ? ` (${reason})` : ''}`;
    document.body.dataset.device = first.info.device;
  };
  deviceSelect.addEventListener('change', async () => {
    await store.setDevice(deviceSelect.value);
    show();
    await showDevice();
  });
  window.addEventListener('hashchange', show);
  show();
  await showDevice();
  document.body.dataset.ready = 'true';
}

start().catch((err: unknown) => {
  status(`Failed to start: ${err instanceof Error ? err.message : String(err)}`);
  document.body.dataset.error = 'true';
});
