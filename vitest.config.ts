import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the web app's runes (*.svelte.ts) for its unit tests.
  plugins: [svelte()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Most files wait on sockets, child processes and timers rather than the CPU, so on CI's two
    // cores two run at once (Vitest's default would be one); timing bounds are set for a loaded machine.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
