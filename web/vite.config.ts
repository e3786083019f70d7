import { defineConfig } from 'vite';

// The built UI is served by `evolab serve` from evolab/server/static/.
export default defineConfig({
  base: '/',
  build: {
    outDir: '../evolab/server/static',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8765', ws: true, changeOrigin: true },
    },
  },
});
