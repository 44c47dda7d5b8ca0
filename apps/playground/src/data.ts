/** The MNIST test images the page ships (public/data/mnist-test.bin, made from the real files). */
export interface TestImages {
  readonly count: number;
  /** Image `i` as 784 values in [0, 1] (the models' normalised input). */
  image(i: number): Float32Array;
  readonly labels: Uint8Array;
}

/**
 * Fetches MNIST images made by scripts/prepare.mjs (`split`: test or train): `count` images
 * of 784 bytes, then `count` label bytes.
 */
export async function loadTestImages(count: number, split = 'test'): Promise<TestImages> {
  const file = `data/mnist-${split}.bin`;
  const res = await fetch(new URL(file, document.baseURI));
  if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length !== count * 785) {
    throw new Error(`${file} holds ${bytes.length} bytes, not ${count} images and labels`);
  }
  return {
    count,
    image: (i) => Float32Array.from(bytes.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
    labels: bytes.subarray(count * 784),
  };
}

/** The first `count` images (all by default) back to back: `count` x 784 values in [0, 1]. */
export function imageBlock(images: TestImages, count = images.count, from = 0): Float32Array {
  const n = Math.max(0, Math.min(count, images.count - from));
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) out.set(images.image(from + i), i * 784);
  return out;
}
