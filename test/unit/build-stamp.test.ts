import { statSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { staleReason } from '../../scripts/build.mjs';

const source = fileURLToPath(new URL('../../server/src/size.ts', import.meta.url));

it('calls dist/ current after a build, and stale once a source is newer than it', () => {
  // The tests' global set-up has just built, or found the build current.
  expect(staleReason()).toBeNull();
  const { atime, mtime } = statSync(source);
  const later = new Date(Date.now() + 60_000);
  utimesSync(source, later, later);
  try {
    expect(staleReason()).toBe('server/src/size.ts changed');
  } finally {
    utimesSync(source, atime, mtime);
  }
  expect(staleReason()).toBeNull();
});
