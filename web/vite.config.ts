import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run dev` serves the app with hot reload and forwards the API and live
// events to a running Mailroom (MAILROOM_API, default http://127.0.0.1:8025).
const api = process.env.MAILROOM_API ?? 'http://127.0.0.1:8025';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2023' },
  server: {
    proxy: {
      '/api': api,
      '/socket.io': { target: api, ws: true },
    },
  },
});
