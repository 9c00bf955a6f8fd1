import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const reports = mkdtempSync(join(tmpdir(), 'mailroom-examples-'));

/** The environment of a fresh shell: nothing of this Vitest run, no Mailroom address. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VITEST|MAILROOM_|TEST$|NODE_ENV$|NODE_OPTIONS$)/.test(key)) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1', ...extra };
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['--no-install', ...args], { cwd: root, env: cleanEnv(env), timeout: 55_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

describe.concurrent('examples/ run as documented', () => {
  it('vitest: global setup with provide/inject and inboxes', { timeout: 60_000 }, async () => {
    const report = join(reports, 'vitest.json');
    const { code, output } = await run(['vitest', 'run', '--root', 'examples/vitest', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number };
    expect(result).toMatchObject({ numPassedTests: 3, numFailedTests: 0 });
  });

  it('jest: globalSetup/globalTeardown with ESM test files', { timeout: 60_000 }, async () => {
    const report = join(reports, 'jest.json');
    const { code, output } = await run(['jest', '--config', 'examples/jest/jest.config.mjs', '--json', `--outputFile=${report}`], {
      NODE_OPTIONS: '--experimental-vm-modules --no-warnings=ExperimentalWarning',
    });
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number };
    expect(result).toMatchObject({ numPassedTests: 2, numFailedTests: 0 });
  });

  it('playwright: an inbox fixture per test, in Debian’s Chromium', { timeout: 60_000 }, async () => {
    const report = join(reports, 'playwright.json');
    const { code, output } = await run(['playwright', 'test', '-c', 'examples/playwright', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: report });
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(report, 'utf8')) as { stats: { expected: number; unexpected: number; flaky: number } };
    expect(result.stats).toMatchObject({ expected: 2, unexpected: 0, flaky: 0 });
  });
});
