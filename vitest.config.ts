import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs in the Node proxy-wasm host and plain Node; `e2e` starts real
// Envoy (and other real services) on loopback. Both run in `npm test`.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Envoy processes are heavy on a 2-core machine: run e2e files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
