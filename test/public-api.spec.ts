import { describe, expect, it } from 'vitest';
import { readReport, renderReport } from '../scripts/api-report.mjs';

describe('public API', () => {
  it('exports exactly what libs/webhooks/api-report.md lists (run `npm run api:report` after a deliberate change)', () => {
    expect(renderReport()).toBe(readReport());
  }, 60_000);

  it('keeps internals off the package root', async () => {
    const root = await import('nestjs-outgoing-webhooks');
    for (const internal of [
      'DeliveryWorker',
      'decide',
      'retryAfterMs',
      'resolveOptions',
      'DELIVER_JOB',
      'WEBHOOKS_MODULE_OPTIONS',
      'SecretCipher',
    ]) {
      expect(root, internal).not.toHaveProperty(internal);
    }
    expect(root).toHaveProperty('WebhooksModule');
    expect(root).toHaveProperty('WEBHOOK_MIGRATIONS');
  });
});
