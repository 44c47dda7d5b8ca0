/**
 * Encode samples/s of a loaded autoencoder (`@aekit/runtime-web`, in Node or in a page): one
 * warm-up call, then calls of `batch` samples back to back for `ms` milliseconds. The inputs
 * are fixed pseudo-random pixel values, normalised to [0, 1] as `encode` takes them; speed
 * does not depend on them.
 */
export async function encodeRate(ae, batch, ms) {
  const shape = [batch, ...ae.info.inputShape];
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 256) / 255;
  await ae.encode({ data, shape });
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await ae.encode({ data, shape });
    calls++;
  }
  return (calls * batch * 1000) / (performance.now() - start);
}
