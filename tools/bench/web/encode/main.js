// The page `npm run bench:precision` times in Chromium: `@aekit/runtime-web` bundled by Vite
// as an app would have it, on onnxruntime-web's WebAssembly build.
import { loadAutoencoder } from '@aekit/runtime-web';
import { encodeRate } from './rate.js';

/** Encode samples/s of the model at `base` on wasm (see {@link encodeRate}). */
window.aekitEncodeRate = async (base, batch, ms) => {
  const ae = await loadAutoencoder(base, { device: 'wasm' });
  try {
    return { device: ae.info.device, samplesPerSecond: await encodeRate(ae, batch, ms) };
  } finally {
    await ae.dispose();
  }
};
document.title = 'ready';
