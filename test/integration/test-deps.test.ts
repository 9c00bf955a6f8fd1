import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { missingMessage, TOOLS } from '../../scripts/test-deps.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A PATH holding node, npm, sh and the test programs, except those named. */
function pathWithout(removed: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-path-'));
  dirs.push(dir);
  symlinkSync(process.execPath, join(dir, 'node'));
  const commands = TOOLS.flatMap((tool) => (tool.command && !removed.includes(tool.name) ? [tool.command] : []));
  for (const command of ['sh', 'npm', ...commands]) symlinkSync(execFileSync('sh', ['-c', `command -v ${command}`]).toString().trim(), join(dir, command));
  return dir;
}

function npmTest(path: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(join(path, 'npm'), ['test', '--', 'test/unit/config.test.ts'], { cwd: root, env: { ...process.env, PATH: path, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

it('npm test stops within seconds when one program is missing, naming it and the command that installs it', async () => {
  const started = Date.now();
  const result = await npmTest(pathWithout(['mutt']));
  expect(result.code).not.toBe(0);
  const mutt = TOOLS.filter((tool) => tool.name === 'mutt');
  expect(missingMessage(mutt)).toBe(
    ['The tests need programs this machine does not have:', '  mutt (IMAP and SMTP client): Debian package mutt', 'Install them with: npm run setup:test-deps   (Debian or Ubuntu; uses sudo when not root)'].join('\n'),
  );
  expect(result.output).toContain(missingMessage(mutt));
  expect(result.output).not.toContain('curl (');
  expect(result.output).not.toContain('✓');
  expect(Date.now() - started).toBeLessThan(20_000);
}, 30_000);

it('names every missing program in one message', async () => {
  const result = await npmTest(pathWithout(['mutt', 'mbsync', 'curl']));
  expect(result.code).not.toBe(0);
  expect(result.output).toContain(missingMessage(TOOLS.filter((tool) => ['curl', 'mutt', 'mbsync'].includes(tool.name))));
}, 30_000);
