import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const assets = fileURLToPath(new URL('../../web/dist/assets/', import.meta.url));

describe('web bundle', () => {
  it('ships at most 150 KB of gzipped JavaScript', () => {
    const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const gzipped = scripts.reduce((sum, name) => sum + gzipSync(readFileSync(assets + name)).length, 0);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });
});
