import 'reflect-metadata';
import { afterAll, expect } from 'vitest';
import { join } from 'node:path';
import { leaks } from './secret-watch.js';

// AdminJS bundles components into this folder: one per test worker, so parallel files do not share a bundle.
process.env.ADMIN_JS_TMP_DIR = join(process.cwd(), 'tmp', `adminjs-test-${process.env.VITEST_POOL_ID ?? process.pid}`);

// No secret handed out during this file may appear in a log line or any other API answer.
afterAll(() => {
  expect(leaks()).toEqual([]);
});
