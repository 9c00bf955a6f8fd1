#!/usr/bin/env node
/**
 * Builds the server (tsc) and the web app (vite), and records when, so that `npm start`, the
 * benchmarks and the tests can build only when a source changed since: never twice in a row (npm
 * install's prepare, then prestart), and never a stale dist/ under the tests.
 *
 * node scripts/build.mjs             build
 * node scripts/build.mjs --if-stale  build only if a source is newer than the last build, or an output is missing
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(root, 'dist', '.build-stamp');
/** What the build reads: sources, their configurations, and the installed dependencies' versions. */
const INPUTS = ['server/src', 'bench', 'web/src', 'web/index.html', 'web/vite.config.ts', 'web/tsconfig.json', 'tsconfig.json', 'package.json', 'package-lock.json'];
/** What it writes; a missing one means building whatever the stamp says. */
const OUTPUTS = ['dist/server/src/cli.js', 'web/dist/index.html'];

function* files(path) {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) yield* files(join(path, entry.name));
}

/** Why a build is needed (the first changed source, or a missing output), or null when dist/ is current. */
export function staleReason() {
  if (!existsSync(STAMP)) return 'never built';
  const missing = OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing) return `${missing} is missing`;
  const built = statSync(STAMP).mtimeMs;
  for (const input of INPUTS) {
    for (const file of files(join(root, input))) {
      if (statSync(file).mtimeMs > built) return `${relative(root, file)} changed`;
    }
  }
  return null;
}

/** Runs the build; throws with the compiler's exit status when it fails (its errors are already printed). */
export function build() {
  // The stamp gets the time the build started, so an edit made during it counts as newer.
  const started = new Date();
  const steps = [
    [process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']],
    [process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn']],
  ];
  for (const [command, args] of steps) {
    const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`build failed: ${args[0]} exited with ${result.status ?? result.signal}`);
  }
  writeFileSync(STAMP, '');
  utimesSync(STAMP, started, started);
}

/** Builds when staleReason() gives one; returns it (null when nothing was built). */
export function buildIfStale() {
  const reason = staleReason();
  if (reason !== null) build();
  return reason;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if (process.argv.includes('--if-stale')) buildIfStale();
    else build();
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
