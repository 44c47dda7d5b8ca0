// The page `npm run bench:precision` times in Chromium: `@aekit/runtime-web` bundled by Vite
// as an app would have it, on onnxruntime-web's WebAssembly build.
import { loadAutoencoder } from '@aekit/runtime-web';

/**
 * Encode samples/s of the model at `base` on wasm: one warm-up call, then calls of `batch`
 * samples back to back for `ms` milliseconds. The inputs are fixed pseudo-random pixel
 * values (0-255, what the model's normalisation expects); speed does not depend on them.
 */
async function encodeRate(base, batch, ms) {
  const ae = await loadAutoencoder(base, { device: 'wasm' });
  try {
    const shape = [batch, ...ae.info.inputShape];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
    await ae.encode({ data, shape });
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      await ae.encode({ data, shape });
      calls++;
    }
    return {
      device: ae.info.device,
      samplesPerSecond: (calls * batch * 1000) / (performance.now() - start),
    };
  } finally {
    await ae.dispose();
  }
}

window.aekitEncodeRate = encodeRate;
document.title = 'ready';
