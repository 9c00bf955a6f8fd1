import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** npm without its update check or audit, preferring the cache the repository's own install filled. */
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_prefer_offline: 'true' };

function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-install-'));
  scratchDirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true, type: 'module' }));
  return dir;
}

/**
 * What a user does after installing: the command's help, a send with the
 * command, and from code startMailroom() plus the typed client finding it.
 */
const USE = `
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startMailroom } from 'mailroom-catcher';
import { MailroomClient } from 'mailroom-catcher/client';
const mailroom = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0 });
try {
  await promisify(execFile)('npx', ['--no-install', 'mailroom', 'send', '--smtp', '127.0.0.1:' + mailroom.ports.smtp, '--to', 'scratch@example.test', '--subject', 'installed']);
  const mail = await new MailroomClient({ url: mailroom.apiUrl }).waitForMessage({ to: 'scratch@example.test', timeout: 10000 });
  console.log(JSON.stringify({ subject: mail.subject, to: mail.envelope.rcptTo }));
} finally {
  await mailroom.close();
}
`;

async function useInstalled(dir: string): Promise<void> {
  const help = await exec('npx', ['--no-install', 'mailroom', '--help'], { cwd: dir, env: npmEnv });
  expect(help.stdout.split('\n')[0]).toBe('mailroom 0.1.0: catch test mail over SMTP and inspect it over HTTP');
  writeFileSync(join(dir, 'use.mjs'), USE);
  const used = await exec(process.execPath, ['use.mjs'], { cwd: dir, env: npmEnv });
  expect(JSON.parse(used.stdout)).toStrictEqual({ subject: 'installed', to: ['scratch@example.test'] });
}

describe('installed into another project', () => {
  it('works from the npm pack tarball', async () => {
    const packed = mkdtempSync(join(tmpdir(), 'mailroom-pack-'));
    scratchDirs.push(packed);
    // The build is there already (npm test builds first), so the prepare script need not run again.
    await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', packed], { cwd: root, env: npmEnv });
    const [tarball] = readdirSync(packed);
    expect(tarball).toBe('mailroom-catcher-0.1.0.tgz');
    const dir = scratchProject();
    await exec('npm', ['install', '-D', join(packed, tarball!)], { cwd: dir, env: npmEnv });
    await useInstalled(dir);
  }, 180_000);

  it('works from a git URL, built on install', async () => {
    const dir = scratchProject();
    // The repository's committed state, as `npm install -D git+https://…` fetches it.
    await exec('npm', ['install', '-D', `git+file://${root}`], { cwd: dir, env: npmEnv });
    await useInstalled(dir);
  }, 300_000);
});
