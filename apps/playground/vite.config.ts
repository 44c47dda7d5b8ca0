import { defineConfig } from 'vite';

// Cross-origin isolation lets onnxruntime-web run its wasm on several threads.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative URLs: the built folder works from any path of any static server.
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { outDir: 'dist', emptyOutDir: true },
});
