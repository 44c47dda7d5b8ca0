import { DeviceFailure } from './devices.js';
import type { OrtModule } from './session.js';

/**
 * An ONNX Runtime build imported on first use and shared after: every call returns the same
 * promise, and a failed import is forgotten (the next call tries again) and rejects with a
 * {@link DeviceFailure} for `device` whose reason `explain` writes from the import's error.
 */
export function importOnce(
  load: () => Promise<unknown>,
  explain: (err: unknown) => string,
): (device: string) => Promise<OrtModule> {
  let pending: Promise<OrtModule> | undefined;
  return (device) => {
    pending ??= load().then(
      (m) => m as OrtModule,
      (err: unknown) => {
        pending = undefined;
        throw new DeviceFailure(device, explain(err), err);
      },
    );
    return pending;
  };
}
