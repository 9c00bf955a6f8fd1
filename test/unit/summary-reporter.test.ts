import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the checkout (test-artifacts is ignored by git), so the sample files resolve vitest.
mkdirSync(join(root, 'test-artifacts'), { recursive: true });
const dir = mkdtempSync(join(root, 'test-artifacts', 'reporter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs these sample test files under the summary reporter alone; its closing line and exit status. */
async function summaryOf(files: Record<string, string>): Promise<{ code: number; line: string | undefined }> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const reporter = join(root, 'test/helpers/summary-reporter.ts');
  writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { include: ['*.sample.ts'], reporters: [${JSON.stringify(reporter)}] } };\n`);
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.config.mjs'], { cwd: dir }, (error, stdout) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, line: stdout.split('\n').find((l) => l.startsWith('tests: ')) });
    });
  });
}

it('counts the tests of a file whose beforeAll failed as failed, beside passed and skipped ones', async () => {
  const result = await summaryOf({
    'broken.sample.ts': "import { beforeAll, it } from 'vitest';\nbeforeAll(() => { throw new Error('no server'); });\nit('a', () => {});\nit('b', () => {});\n",
    'fine.sample.ts': "import { expect, it } from 'vitest';\nit('c', () => expect(1).toBe(1));\nit.skip('d', () => {});\nit('e', () => expect(1).toBe(2));\n",
  });
  expect(result).toStrictEqual({ code: 1, line: 'tests: 1 passed, 3 failed, 1 skipped' });
}, 60_000);
