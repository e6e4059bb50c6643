import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const POSTGRES_SUITES = [
  'test/server.test.ts',
  'test/pipelines.test.ts',
  'test/pipelines-durability.test.ts',
  'test/operator.test.ts',
  'test/promotion.test.ts',
  'test/run-record.test.ts',
  'test/plugins.test.ts',
  'test/dashboard.test.ts',
  'test/value-stream.test.ts',
  'test/cluster.test.ts',
  'test/crash.test.ts',
  'test/timers.test.ts',
  'test/locking.test.ts',
  'test/locking-cluster.test.ts',
  'test/variables.test.ts',
  'test/cancel-cluster.test.ts',
  'test/metrics.test.ts',
  'test/apt-pipeline.test.ts',
  'test/events.test.ts',
  'test/webhooks.test.ts',
  'test/events-cluster.test.ts',
  'test/agents.test.ts',
  'test/agents-cluster.test.ts',
];

export default defineConfig({
  resolve: {
    // Self-references (`import … from 'hoist/yum'`) run from the TypeScript sources in tests;
    // Node resolves the same names through package.json `exports` (see test/package.test.ts).
    alias: [
      { find: /^hoist$/, replacement: source('./core/index.ts') },
      { find: /^hoist\/yum$/, replacement: source('./plugins/yum/index.ts') },
      { find: /^hoist\/apt$/, replacement: source('./plugins/apt/index.ts') },
      { find: /^hoist\/testing$/, replacement: source('./testing/index.ts') },
      { find: /^hoist\/server$/, replacement: source('./server/index.ts') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    globalSetup: ['./test/helpers/postgres-global.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['**/*.test.ts'],
          exclude: [
            'node_modules/**',
            'dist/**',
            'test/cluster.test.ts',
            'test/locking-cluster.test.ts',
            'test/timers.test.ts',
            'test/cancel-cluster.test.ts',
            'test/events-cluster.test.ts',
            'test/agents-cluster.test.ts',
          ],
        },
      },
      {
        // The end-to-end suites again, each server on a PostgreSQL database of its own; and
        // several instances sharing one database. Needs HOIST_TEST_DATABASE_URL.
        extends: true,
        test: {
          name: 'postgres',
          include: POSTGRES_SUITES,
          env: { HOIST_TEST_STORE: 'postgres' },
        },
      },
    ],
  },
});
