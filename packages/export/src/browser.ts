/**
 * The browser-safe part of `@aekit/export`: ONNX graphs from tfjs-layers networks in a page
 * (no ONNX Runtime check, no run directory; check the result with `@aekit/runtime-web`).
 *
 * @packageDocumentation
 */
export { SUPPORTED_LAYERS } from './convert/registry.js';
export {
  describedGraphSpec,
  layerChain,
  layersToOnnx,
  type OnnxGraphSpec,
} from './layers-to-onnx.js';
export { DEFAULT_OPSET } from './onnx-model.js';
