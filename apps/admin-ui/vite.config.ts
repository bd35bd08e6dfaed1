import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string) => decodeURIComponent(new URL(p, import.meta.url).pathname);

/**
 * The admin UI, served by the command API at /admin. It imports the provider tables and the input validator
 * straight from libs/credentials (relative paths, never the package index, which pulls in node:crypto), so the
 * inline validation runs the very rules the API runs.
 */
export default defineConfig({
  root: here('./web'),
  base: '/admin/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: here('../../dist/admin-ui'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // No inline assets: the Content-Security-Policy allows same-origin files only.
    assetsInlineLimit: 0,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
