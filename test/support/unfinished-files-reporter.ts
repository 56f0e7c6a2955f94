// A test file whose worker process dies (a native crash, a signal) is counted neither
// passed nor failed: vitest reports only "Worker exited unexpectedly", with no file
// name, and CI shows the tail of its output. This reporter names such files at the
// end of the run, with when they started and how far they got, so the next failure
// says where to look.
import type { Reporter, TestModule } from 'vitest/node';

const FINISHED = new Set(['passed', 'failed', 'skipped']);

export default class UnfinishedFilesReporter implements Reporter {
  readonly #started = new Map<string, number>();
  readonly #ended = new Map<string, number>();
  #runStart = Date.now();

  onTestRunStart(): void {
    this.#runStart = Date.now();
  }

  onTestModuleStart(module: TestModule): void {
    this.#started.set(module.moduleId, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    this.#ended.set(module.moduleId, Date.now());
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const unfinished = modules.filter((m) => !FINISHED.has(m.state()));
    if (unfinished.length === 0) return;
    const at = (t: number | undefined): string => (t === undefined ? '-' : `${((t - this.#runStart) / 1000).toFixed(1)} s`);
    const lines = unfinished.map((m) => {
      let passed = 0;
      let total = 0;
      for (const test of m.children.allTests()) {
        total++;
        if (test.result().state === 'passed') passed++;
      }
      return `  [${m.project.name}] ${m.relativeModuleId}: state ${m.state()}, started ${at(this.#started.get(m.moduleId))}, ended ${at(this.#ended.get(m.moduleId))}, ${passed}/${total} tests passed`;
    });
    process.stderr.write(`\ntest files that did not finish (their worker died?):\n${lines.join('\n')}\n`);
  }
}
