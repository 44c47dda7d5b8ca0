/**
 * The worker script of tfjs-backend-wasm's multi-threaded build, for Node.
 *
 * tfjs hands Emscripten its pthread worker as a `blob:` URL, which Node's `Worker` refuses;
 * {@link prepareThreadedWasm} answers that URL with this file instead. It runs the same
 * worker code tfjs ships (`wasmWorkerContents`), and where the main thread sends the wasm
 * module's JavaScript as a Blob (which a Node worker cannot import), it loads the same code
 * from the file the package ships.
 */
const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
const { runInThisContext } = require('node:vm') as typeof import('node:vm');

const WASM_OUT = '@tensorflow/tfjs-backend-wasm/wasm-out';
const { wasmWorkerContents } = require(`${WASM_OUT}/tfjs-backend-wasm-threaded-simd.worker.js`) as {
  wasmWorkerContents: string;
};
const factoryScript = require.resolve(`${WASM_OUT}/tfjs-backend-wasm-threaded-simd.js`);

type Listener = (data: { cmd?: string; urlOrBlob?: unknown }) => void;
const port = parentPort!;
const realOn = port.on.bind(port);
let emscriptenListener: Listener | undefined;
// The worker code registers its message listener on parentPort; keep it to call it in order.
port.on = ((event: string, listener: Listener) => {
  if (event === 'message') emscriptenListener = listener;
  else realOn(event, listener);
  return port;
}) as typeof port.on;
Object.assign(globalThis, { require, __filename });
// tfjs escapes newlines the same way before it makes its Blob.
runInThisContext(wasmWorkerContents.replace(/\n/g, '\\n'), {
  filename: 'tfjs-backend-wasm-threaded-simd.worker.js',
});
port.on = realOn;

realOn('message', (data: { cmd?: string; urlOrBlob?: unknown }) => {
  if (data?.cmd === 'load' && typeof data.urlOrBlob !== 'string') data.urlOrBlob = factoryScript;
  emscriptenListener?.(data);
});
