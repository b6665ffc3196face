import 'reflect-metadata';
import { afterAll, expect } from 'vitest';
import { leaks } from './secret-watch.js';

// No secret handed out during this file may appear in a log line or any other API answer.
afterAll(() => {
  expect(leaks()).toEqual([]);
});
