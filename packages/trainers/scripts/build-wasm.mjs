#!/usr/bin/env node
// Compiles src/backends/simd/kernels.c to src/backends/simd/kernels.wasm, and to
// kernels-shared.wasm for the shared memory of tfjs's multi-threaded build (both committed,
// so that building the package needs no C toolchain), with Debian's clang and lld:
//   apt-get install clang lld
// Usage: node scripts/build-wasm.mjs [directory]   (default: the committed files' folder)
// The module imports tfjs's memory, so it must own nothing in it: the link puts the stack
// first with size 0 (any stack use would trap at address 0 - 16, never write to tfjs's
// data), and the result is checked to have no data segments and to import only memory.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/backends/simd/kernels.c');
const directory = process.argv[2] ?? join(root, 'src/backends/simd');

const SHARED = ['-matomics', '-mbulk-memory', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296'];
for (const [name, extra] of [
  ['kernels.wasm', []],
  ['kernels-shared.wasm', SHARED],
]) {
  build(join(directory, name), extra);
}
// The browser entry's copy of kernels.wasm (the committed files only).
if (process.argv[2] === undefined) await import('./embed-wasm.mjs');

function build(output, extra) {
  const temporary = `${output}.tmp`;
  execFileSync(
    process.env.CLANG ?? 'clang',
    [
      ...extra,
      '--target=wasm32',
      '-O3',
      '-msimd128',
      '-nostdlib',
      '-ffreestanding',
      '-Wall',
      '-Werror',
      '-Wl,--no-entry',
      '-Wl,--import-memory',
      '-Wl,--strip-all',
      '-Wl,-z,stack-size=0',
      '-Wl,--stack-first',
      '-o',
      temporary,
      source,
    ],
    { stdio: 'inherit' },
  );

  const bytes = readFileSync(temporary);
  const module = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0].kind !== 'memory') {
    throw new Error(`kernels.wasm must import only a memory, not ${JSON.stringify(imports)}`);
  }
  // Walk the sections (id byte, LEB128 size): a data section (11) would write into tfjs's heap.
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (id === 11 || id === 12) throw new Error('kernels.wasm must have no data segments');
    at += size;
  }
  renameSync(temporary, output);
  console.log(`wrote ${output} (${bytes.length} bytes)`);
}
