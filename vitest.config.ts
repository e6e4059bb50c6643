import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Self-references (`import … from 'hoist/yum'`) run from the TypeScript sources in tests;
    // Node resolves the same names through package.json `exports` (see test/package.test.ts).
    alias: [
      { find: /^hoist$/, replacement: source('./core/index.ts') },
      { find: /^hoist\/yum$/, replacement: source('./plugins/yum/index.ts') },
      { find: /^hoist\/testing$/, replacement: source('./testing/index.ts') },
      { find: /^hoist\/server$/, replacement: source('./server/index.ts') },
    ],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
