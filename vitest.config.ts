import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@app\/webhooks\/admin$/, replacement: resolve(import.meta.dirname, 'libs/webhooks/src/admin/index.ts') },
      { find: /^@app\/webhooks$/, replacement: resolve(import.meta.dirname, 'libs/webhooks/src/index.ts') },
    ],
  },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.spec.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only contend.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
