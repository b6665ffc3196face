import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { WebhookEndpoint, WebhooksService } from 'nestjs-outgoing-webhooks';
import { createDatabase, type TestDatabase } from '../support/databases.js';
import { ADMIN_LOGIN, dropBullKeys, startExample, type RunningExample } from '../support/example-app.js';
import { Receiver } from '../support/receiver.js';
import { noteSecret } from '../support/secret-watch.js';
import { waitUntil } from '../support/wait.js';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/chromium.mjs';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'admin');

/**
 * The operator's round trip in a real headless Chromium: log in, create an endpoint pointed at a local receiver,
 * send a test, see an order's delivery succeed, rotate the secret, disable and enable the endpoint. Screenshots of
 * the dashboard, the endpoint page and the delivery log are kept in test-artifacts/admin.
 */
describe('admin in a browser', () => {
  let db: TestDatabase;
  let example: RunningExample;
  let browser: Browser;
  let page: Page;
  let rx: Receiver;
  let customerId: number;

  const url = (path: string) => example.baseUrl + path;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    // Debian's Chromium, installed here on first use when missing (CHROMIUM_PATH overrides).
    const executablePath = ensureChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    db = await createDatabase('sqlite');
    example = await startExample(db, { admin: true });
    rx = await Receiver.start();
    customerId = (await example.api('POST', '/api/customers', { name: 'Browser', email: 'browser@example.com' })).body.id;
    browser = await chromium.launch({
      executablePath,
      headless: true,
      // Quiet start on a machine without outside network: no background requests to Google's services.
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1680, height: 1050 } });
    page.setDefaultTimeout(20_000);
  }, 15 * 60_000); // a first run may install Chromium
  afterAll(async () => {
    await browser?.close();
    await example?.close();
    await rx?.close();
    if (example) await dropBullKeys(example.bullPrefix);
    await db?.drop();
  });

  it('runs an operator through login, create, test, delivery, rotation, disable and enable', async () => {
    const webhooks = example.app.get(WebhooksService);

    // Log in (the admin sends anonymous visitors to the login page).
    await page.goto(url('/admin'));
    await page.waitForURL(/\/admin\/login$/);
    await page.fill('input[name=email]', ADMIN_LOGIN.email);
    await page.fill('input[name=password]', ADMIN_LOGIN.password);
    await page.press('input[name=password]', 'Enter');
    await page.getByTestId('webhooks-dashboard').waitFor();

    // Create an endpoint with a mistake first: the form says what is wrong and nothing is saved.
    await page.goto(url('/admin/resources/WebhookEndpoint/actions/new'));
    await page.getByTestId('endpoint-form').waitFor();
    await page.fill('input[name=url]', 'ftp://example.test/hooks');
    await page.getByTestId('button-save').click();
    await page.getByText('url must use http or https').first().waitFor();
    expect(await webhooks.listEndpoints()).toHaveLength(0);

    await page.fill('input[name=url]', rx.url);
    await page.fill('input[name=description]', 'Local receiver');
    await page.getByTestId('topics-add').click();
    const topic = page.getByTestId('topics.0');
    await topic.click();
    await page.keyboard.type('order.created');
    await page.keyboard.press('Enter');
    await page.getByTestId('button-save').click();
    await page.getByTestId('endpoint-created').waitFor();
    const secret = (await page.getByTestId('secret-value').textContent())!.trim();
    noteSecret(secret);
    expect(secret).toMatch(/^whsec_/);
    const [endpoint] = await webhooks.listEndpoints();
    expect(endpoint).toMatchObject({ url: rx.url, topics: ['order.created'], description: 'Local receiver' });
    const show = `/admin/resources/WebhookEndpoint/records/${endpoint.id}/show`;

    // Send test: the result is shown, and the receiver got a request signed with the secret just shown.
    rx.replies = [{ status: 200, body: '{"received":true}', headers: { 'content-type': 'application/json' } }];
    await page.goto(url(`/admin/resources/WebhookEndpoint/records/${endpoint.id}/sendTest`));
    await page.getByTestId('send-test-button').click();
    await page.getByTestId('test-result').waitFor();
    expect(await page.getByTestId('test-status').textContent()).toContain('200');
    expect(await page.getByTestId('test-body').textContent()).toContain('"received": true');
    expect(() => new Webhook(secret).verify(rx.requests[0].body, rx.requests[0].headers as Record<string, string>)).not.toThrow();

    // An order created through the API is delivered and shows as succeeded on the endpoint page.
    const order = await example.api('POST', '/api/orders', { customerId, total: '12.50', status: 'pending' });
    expect(order.status).toBe(201);
    await waitUntil(
      async () => (await webhooks.listDeliveries(endpoint.id)).some((d) => d.topic === 'order.created' && d.status === 'succeeded'),
      'the order delivery',
    );
    await page.goto(url(show));
    await page.getByTestId('recent-deliveries').waitFor();
    const succeeded = page.getByTestId('recent-deliveries').locator('[data-testid=delivery-succeeded]', { hasText: 'order.created' });
    await succeeded.waitFor();
    await shot('endpoint-page');
    // Labels read alike (sentence case, translated in the custom components too), and a healthy endpoint's page
    // leaves out what only matters when something is wrong.
    const labels = (await page.locator('section label, label').allTextContents()).map((l) => l.trim()).filter(Boolean);
    expect(labels).toEqual(expect.arrayContaining(['Topics', 'Health', 'Success rate', 'Last success', 'Failures in a row']));
    expect(labels.filter((l) => !/^[A-Z]/.test(l))).toEqual([]);
    expect(labels.filter((l) => /[a-z] [A-Z]/.test(l))).toEqual([]); // no "Last Success At"
    for (const empty of [
      'Failing since',
      'Disabled at',
      'Why disabled',
      'Last failure',
      'Paused until',
      'Probe at',
      'Circuit open since',
    ]) {
      expect(labels).not.toContain(empty);
    }

    // The delivery log: filter by endpoint and status, open the delivery with its attempts.
    await page.goto(url(`/admin/resources/WebhookDelivery?filters.endpointId=${endpoint.id}&filters.status=succeeded`));
    await page.getByText('order.created').first().waitFor();
    await shot('delivery-log');
    const delivery = (await webhooks.listDeliveries(endpoint.id)).find((d) => d.topic === 'order.created')!;
    await page.goto(url(`/admin/resources/WebhookDelivery/records/${delivery.id}/show`));
    await page.getByTestId('attempt').first().waitFor();
    await shot('delivery-attempts');

    // Rotate the secret: the new one is shown once, with the end of the grace period.
    await page.goto(url(`/admin/resources/WebhookEndpoint/records/${endpoint.id}/rotateSecret`));
    await page.fill('#graceSeconds', '3600');
    await page.getByTestId('rotate-button').click();
    await page.getByTestId('grace-end').waitFor();
    const rotated = (await page.getByTestId('secret-value').textContent())!.trim();
    noteSecret(rotated);
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    expect(await webhooks.signingSecrets(endpoint.id)).toEqual(expect.arrayContaining([rotated, secret]));

    // Disable, then enable again.
    await page.goto(url(`/admin/resources/WebhookEndpoint/records/${endpoint.id}/disable`));
    await page.getByTestId('confirm-button').click();
    await page.waitForURL(/\/show/);
    await page.getByTestId('state-disabled').first().waitFor();
    expect((await webhooks.getEndpoint(endpoint.id)).active).toBe(false);
    expect(await page.locator('label', { hasText: 'Disabled at' }).count()).toBe(1); // set now, so shown
    await page.goto(url(`/admin/resources/WebhookEndpoint/records/${endpoint.id}/enable`));
    await page.getByTestId('confirm-button').click();
    await page.waitForURL(/\/show/);
    await page.getByTestId('state-untested').first().waitFor();
    expect((await webhooks.getEndpoint(endpoint.id)).active).toBe(true);

    // The dashboard with the traffic above, and a failing endpoint of an owner (its counters set here), named.
    const owned = await webhooks.createEndpoint({ url: rx.url, topics: ['order.deleted'], ownerId: 'tenant-browser' });
    const failingSince = new Date();
    await example.app
      .get(DataSource)
      .getRepository(WebhookEndpoint)
      .update({ id: owned.id }, { consecutiveFailures: 3, failingSince, lastFailureAt: failingSince });
    await page.goto(url('/admin'));
    await page.getByTestId('attempts-chart').waitFor();
    await page.getByTestId('failing-owner').filter({ hasText: 'tenant-browser' }).waitFor();
    // Beside the chart: commit-to-delivered of the hour's deliveries (the test sends and the redelivery above) and
    // the share of failed attempts.
    const p50 = await page.getByTestId('count-p50 commit to delivered').textContent();
    expect(p50).toMatch(/^\d+(\.\d)? (ms|s|min)p50 commit to delivered$/);
    expect(await page.getByTestId('count-failed attempts').textContent()).toMatch(/^(\d+\.\d %|–)failed attempts$/);
    await shot('dashboard');
    // The event catalogue: every topic, its data fields at a glance, its whole schema on a click.
    await page.goto(url('/admin/pages/eventCatalogue'));
    const created = page.getByTestId('catalogue-topic-order.created');
    await created.waitFor();
    expect(await created.textContent()).toContain('customerId: integer');
    await page.getByTestId('catalogue-open-order.created').click();
    const schema = JSON.parse((await page.getByTestId('catalogue-schema-order.created').textContent())!);
    expect(schema).toEqual(webhooks.eventTypes().find((t) => t.name === 'order.created')!.schema);
    await page.getByTestId('catalogue-filter').fill('shipped');
    await page.getByTestId('catalogue-topic-order.shipped').waitFor();
    expect(await page.getByTestId('catalogue-topic-order.created').count()).toBe(0);
    await shot('event-catalogue');
    await page.goto(url('/admin/resources/WebhookEndpoint'));
    await page.getByText(rx.url).first().waitFor();
    await shot('endpoint-list');

    const html = await page.content();
    expect(html).not.toContain(secret.slice(6));
    expect(html).not.toContain(rotated.slice(6));
    // Twelve page loads and some thirty waits, each allowed 20 s: about 10 s alone, three times that beside a heavy test
    // file on two busy cores (a CI run hit the 30 s default), so the whole walk gets the room its steps have.
  }, 180_000);
});
