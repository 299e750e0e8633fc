import type { Reporter, TestModule } from 'vitest/node';

/** Ends every run with the plain `N passed, N failed` line that CI reads. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const testModule of testModules) {
      let testsFailed = 0;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') testsFailed++;
        else counts.skipped++;
      }
      // A file that failed outside its tests (an import, a hook such as the temp-dir cleanup)
      // counts as one failure, so the line never says 0 failed when vitest exits non-zero.
      counts.failed += testModule.state() === 'failed' && testsFailed === 0 ? 1 : testsFailed;
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
