import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain "N passed, N failed" line that CI reads. A test that never ran
 * because its file failed (a `beforeAll` that threw, an import that broke) counts as failed, so
 * the line never says "0 failed" for a run that exits 1; errors outside any test are counted too.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      const moduleFailed = module.state() === 'failed';
      const tests = [...module.children.allTests()];
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed' || (moduleFailed && (test.options.mode === 'run' || test.options.mode === 'only'))) failed += 1;
        else skipped += 1;
      }
      if (moduleFailed && tests.length === 0) failed += 1;
    }
    const errors = unhandledErrors.length > 0 ? `, ${unhandledErrors.length} unhandled error${unhandledErrors.length === 1 ? '' : 's'}` : '';
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${errors}\n`);
  }
}
