import { defineConfig } from 'vitest/config';

// Two projects: unit tests of pure logic (fast, no services), and integration tests
// against the real local broker and Postgres, which test/integration/global-setup.ts
// brings up with the project's own scripts. The HTTP fuzz (test/fuzz/) runs in the
// integration project: it needs that broker, and its row counts need the database to
// itself (integration files run one at a time). Test files run in child processes
// (forks): node-rdkafka must be loaded on a process's main thread.
export default defineConfig({
  test: {
    pool: 'forks',
    // A fork that dies of a native crash writes its thread's native stack to stderr first.
    setupFiles: ['test/support/crash-report-setup.ts'],
    // The default output, and the names of any files whose worker died.
    reporters: ['default', './test/support/unfinished-files-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', 'test/fault/**', 'test/fuzz/**'],
          // The garbage collector on demand, for the tests that check what is no longer
          // held (set at start: changing V8's flags in a running process may crash it).
          execArgv: ['--expose-gc'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Fault tests (test/fault/): their own broker and Postgres, killed and stopped
        // under load; last, never beside the others (groupOrder: a project without
        // file parallelism and without a groupOrder would run after every group, so
        // integration has one too). Each test sets its own timeout from its parameters.
        extends: true,
        test: {
          name: 'fault',
          include: ['test/fault/**/*.test.ts'],
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
