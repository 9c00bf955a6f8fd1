import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*.test.ts'],
    // Starts one Mailroom for the whole run and hands its address to the tests.
    globalSetup: ['./global-setup.ts'],
  },
});
