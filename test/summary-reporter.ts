/**
 * Ends a vitest run with one plain line, `tests: N passed, N failed, N skipped`, that CI logs can be read by.
 * A test that never ran because a hook of its file or suite failed counts as failed, not skipped, and so
 * does an error outside any test.
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';

function parentFailed(test: TestCase): boolean {
  for (let p: TestCase['parent'] | undefined = test.parent; p; p = p.type === 'module' ? undefined : p.parent) {
    if (p.state() === 'failed') return true;
  }
  return false;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const mod of modules) {
      const tests = [...mod.children.allTests()];
      if (tests.length === 0 && mod.state() === 'failed') counts.failed++;
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed' || parentFailed(test)) counts.failed++;
        else counts.skipped++;
      }
    }
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
