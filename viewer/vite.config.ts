import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The viewer imports rq3d's own readers, normalization, augmentations and octree engine. The few Node
 * built-ins those modules touch (src/data/shape.ts imports node:fs/node:path for file reading, which the
 * browser never calls) are mapped to tiny browser shims; see src/shims/.
 */
const shim = (name: string): string => fileURLToPath(new URL(`./src/shims/${name}.ts`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    alias: [
      { find: /^node:fs$/, replacement: shim('fs') },
      { find: /^node:path$/, replacement: shim('path') },
    ],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  server: { host: '127.0.0.1' },
});
