/**
 * Creates a promise queue: each task starts after every task queued before it has settled
 * (fulfilled or rejected), so a failing run never blocks the ones behind it.
 *
 * ONNX Runtime Web's wasm and WebGPU sessions share one WebAssembly instance and cannot
 * run concurrently, so the browser entry sends every run through one such queue.
 */
export function createQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const result = tail.then(task, task);
    tail = result.catch(() => undefined);
    return result;
  };
}
