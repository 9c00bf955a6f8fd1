import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Starts one Mailroom for the run; see global-setup.ts.
  globalSetup: './global-setup.ts',
  fullyParallel: true,
  workers: 2,
  reporter: 'list',
  use: {
    headless: true,
    // Debian's Chromium (apt-get install chromium) instead of a downloaded browser.
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
});
