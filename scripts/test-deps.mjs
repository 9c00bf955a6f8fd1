#!/usr/bin/env node
/**
 * The programs `npm test` runs beside Mailroom, and the Debian packages that
 * bring them: one list for the tests' global set-up (which refuses to start
 * without them) and for `npm run setup:test-deps` and `.ci/run` (which
 * install what is missing).
 *
 * node scripts/test-deps.mjs          installs the missing packages with apt-get (as root, or with sudo)
 * node scripts/test-deps.mjs --check  lists what is missing; exit status 1 if anything is
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each tool: what it is for, how it is found (a command on PATH, or files), and its packages. */
export const TOOLS = [
  { name: 'openssl', why: 'TLS tests (s_client)', command: 'openssl', packages: ['openssl'] },
  { name: 'python3', why: "SMTP, POP3 and IMAP clients (smtplib, poplib, imaplib) and MIME references (email)", command: 'python3', packages: ['python3'] },
  { name: 'fetchmail', why: 'POP3 client', command: 'fetchmail', packages: ['fetchmail'] },
  { name: 'curl', why: 'POP3, IMAP and HTTP client', command: 'curl', packages: ['curl'] },
  { name: 'mutt', why: 'IMAP and SMTP client', command: 'mutt', packages: ['mutt'] },
  { name: 'mbsync', why: 'IMAP sync client', command: 'mbsync', packages: ['isync'] },
  { name: 'script', why: 'a terminal for mutt', command: 'script', packages: ['bsdutils'] },
  { name: 'dovecot', why: 'the reference IMAP and POP3 server', files: ['/usr/sbin/dovecot', '/usr/lib/dovecot/imap', '/usr/lib/dovecot/pop3'], packages: ['dovecot-imapd', 'dovecot-pop3d'] },
  { name: 'chromium', why: 'the web inbox and browser security tests', files: ['/usr/bin/chromium'], packages: ['chromium'] },
];

function onPath(command, path) {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tools not found on this machine (with this PATH). */
export function missingTools(path = process.env.PATH ?? '') {
  return TOOLS.filter((tool) => (tool.command ? !onPath(tool.command, path) : !tool.files.every((file) => existsSync(file))));
}

/** One message naming what is missing and how to install it. */
export function missingMessage(missing) {
  const lines = missing.map((tool) => `  ${tool.name} (${tool.why}): Debian package ${tool.packages.join(' ')}`);
  return [`The tests need programs this machine does not have:`, ...lines, 'Install them with: npm run setup:test-deps   (Debian or Ubuntu; uses sudo when not root)'].join('\n');
}

function install(missing) {
  const packages = [...new Set(missing.flatMap((tool) => tool.packages))];
  const root = process.getuid?.() === 0;
  const run = (args) => {
    const [command, ...rest] = root ? args : ['sudo', ...args];
    const result = spawnSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`test-deps: ${args.join(' ')} failed`);
  };
  // Dovecot is started by the tests with their own configuration, never as a system service: a
  // policy-rc.d that refuses service starts does that, in place only while the packages install.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) run(['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod +x ${policy}`]);
  try {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
  } finally {
    if (ownPolicy) run(['rm', '-f', policy]);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const missing = missingTools();
  if (process.argv.includes('--check')) {
    if (missing.length > 0) {
      process.stderr.write(`${missingMessage(missing)}\n`);
      process.exit(1);
    }
  } else if (missing.length > 0) {
    try {
      install(missing);
    } catch (error) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    const still = missingTools();
    if (still.length > 0) {
      process.stderr.write(`${missingMessage(still)}\n`);
      process.exit(1);
    }
  }
}
