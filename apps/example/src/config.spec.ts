import { describe, expect, it } from 'vitest';
import { demoReceiverNetworks, loadConfig } from './config.js';

const base = { API_TOKEN: 't', DATABASE_URL: 'sqlite::memory:' };

describe('example configuration', () => {
  it('runs the API and the worker by default, and either alone when told', () => {
    expect(loadConfig(base).roles).toEqual({ api: true, worker: true });
    expect(loadConfig({ ...base, WEBHOOKS_WORKER: '0' }).roles).toEqual({ api: true, worker: false });
    const worker = loadConfig({ ...base, API_ENABLED: '0' });
    expect(worker.roles).toEqual({ api: false, worker: true });
    expect(worker.admin.enabled).toBe(false); // the admin is part of the API
  });

  it('refuses a process with nothing to do and switches that are not 0 or 1', () => {
    expect(() => loadConfig({ ...base, API_ENABLED: '0', WEBHOOKS_WORKER: '0' })).toThrow(/nothing to do/);
    expect(() => loadConfig({ ...base, WEBHOOKS_WORKER: 'false' })).toThrow(/WEBHOOKS_WORKER must be 0 or 1 \(got "false"\)/);
    expect(() => loadConfig({ ...base, ADMIN_ENABLED: 'no' })).toThrow(/ADMIN_ENABLED must be 0 or 1/);
  });

  it("opens only the app's own port on loopback for the demo receiver, in development and without the general switch", () => {
    expect(demoReceiverNetworks(loadConfig({ ...base, PORT: '3000' }))).toEqual(['127.0.0.1:3000', '[::1]:3000']);
    expect(demoReceiverNetworks(loadConfig({ ...base, PORT: '3000', WEBHOOKS_ALLOW_PRIVATE_NETWORKS: '1' }))).toEqual([]);
    expect(demoReceiverNetworks(loadConfig({ ...base, PORT: '0' }))).toEqual([]);
    const production = loadConfig({
      ...base,
      NODE_ENV: 'production',
      PORT: '3000',
      ADMIN_ENABLED: '0',
      WEBHOOKS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    });
    expect(demoReceiverNetworks(production)).toEqual([]);
  });
});
