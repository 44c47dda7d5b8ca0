import { selectBackend } from '@aekit/trainers';
import type { Output } from './output.js';

/**
 * Starts the tfjs backend `name` (default `auto`) for a command that computes with tfjs and
 * says on stderr which one it is, in one line: `backend: wasm (WebAssembly (XNNPACK), one
 * thread)`. Returns the backend's own name, for the library call that follows, which then
 * starts the same backend without trying the others again. (`aekit train` says it in its
 * first progress line instead.)
 */
export async function startBackend(name: string | undefined, output: Output): Promise<string> {
  const info = await selectBackend(name ?? 'auto');
  output.err(`backend: ${info.name} (${info.detail})`);
  return info.name;
}
