import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { buildApp } from '../../server/src/api/app.js';
import { SmtpRuleSet } from '../../server/src/smtp/reject-rules.js';
import { MessageStore } from '../../server/src/store/message-store.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'mailroom-web-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** A real Vite build of the web app into `outDir`, its assets under `assetsDir`. */
async function buildWeb(assetsDir: string): Promise<void> {
  await exec(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--assetsDir', assetsDir, '--logLevel', 'silent'], { cwd: root });
}

it('serves the app as rebuilt under it, index and assets alike, never a 404 for the new bundle', async () => {
  await buildWeb('assets');
  const app = await buildApp({
    store: new MessageStore({ maxMessages: 10, maxBytes: 1e6 }),
    logger: pino({ level: 'silent' }),
    version: 'test',
    listeners: () => [],
    smtpRules: new SmtpRuleSet([]),
    webRoot: outDir,
  });
  const script = async (): Promise<string> => {
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    return /<script type="module" crossorigin src="([^"]+)"/.exec(page.body)![1]!;
  };
  const first = await script();
  expect(first).toMatch(/^\/assets\/index-[\w-]+\.js$/);
  expect((await app.inject(first)).statusCode).toBe(200);

  await buildWeb('bundle');
  const second = await script();
  expect(second).toMatch(/^\/bundle\/index-[\w-]+\.js$/);
  const asset = await app.inject(second);
  expect([asset.statusCode, asset.headers['content-type']]).toStrictEqual([200, 'application/javascript; charset=utf-8']);
  expect((await app.inject(first)).statusCode).toBe(404);
  await app.close();
}, 60_000);
