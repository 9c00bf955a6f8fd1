import { chromium, type Browser } from 'playwright-core';
import { afterAll } from 'vitest';

/**
 * Debian's Chromium, headless, as every browser test starts it: no sandbox
 * (tests run as root), and none of the background requests that a machine
 * without internet access would refuse. `args` adds flags such as
 * `--host-resolver-rules`.
 */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...args],
  });
}

/** Chromium for the test file that calls it at its top level, closed after the file. */
export async function useChromium(args: readonly string[] = []): Promise<Browser> {
  const browser = await launchChromium(args);
  afterAll(() => browser.close());
  return browser;
}
