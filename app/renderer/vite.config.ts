// The web UI for Electron and `resumescope ui`: dist-ui/index.html + hashed assets + the analysis worker.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative URLs: the same build is served over http://127.0.0.1 and Electron's app:// scheme.
  base: './',
  // JSX through Vite's own esbuild: no React plugin needed (no fast refresh in production anyway).
  esbuild: { jsx: 'automatic' },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../../dist-ui/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    // Never inline assets as data: URLs; the CSP allows scripts and styles from 'self' only.
    assetsInlineLimit: 0,
  },
});
