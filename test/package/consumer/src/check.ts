// Boots the app, subscribes an endpoint on 127.0.0.1, saves a Note, and checks that a webhook arrives signed the
// Standard Webhooks way (verified with the `standardwebhooks` package). On PostgreSQL it also asks TypeORM whether
// the schema made by the migrations differs from the entities. Prints one JSON line; exit code 0 when all held.
import 'reflect-metadata';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { Webhook } from 'standardwebhooks';
import type { DataSource } from 'typeorm';
import { AppModule, configFromEnv } from './app.module.js';
import { Note } from './note.entity.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function main(): Promise<void> {
  const received: Received[] = [];
  let arrived: (r: Received) => void = () => {};
  const first = new Promise<Received>((resolve) => (arrived = resolve));
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      received.push(r);
      arrived(r);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  const app = await NestFactory.createApplicationContext(AppModule.register(configFromEnv()), { logger: ['error', 'warn'] });
  try {
    const webhooks = app.get(WebhooksService);
    const endpoint = await webhooks.createEndpoint({ url: `http://127.0.0.1:${port}/hooks`, topics: ['note.*'] });
    const dataSource = app.get<DataSource>(getDataSourceToken());
    const note = await dataSource.getRepository(Note).save({ text: 'hello from outside the repo' });

    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no webhook within 20 s')), 20_000));
    const message = await Promise.race([first, timeout]);
    const header = (name: string) => String(message.headers[name] ?? '');
    const payload = new Webhook(endpoint.secret).verify(message.body, {
      'webhook-id': header('webhook-id'),
      'webhook-timestamp': header('webhook-timestamp'),
      'webhook-signature': header('webhook-signature'),
    }) as { type: string; data: { id: number; text: string } };
    if (payload.type !== 'note.created' || payload.data.id !== note.id || payload.data.text !== note.text) {
      throw new Error(`unexpected payload ${JSON.stringify(payload)}`);
    }

    let pending: string[] = [];
    if (dataSource.options.type === 'postgres') {
      pending = (await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
      if (pending.length > 0) throw new Error(`schema differs from the entities:\n${pending.join('\n')}`);
      const schema = (dataSource.options as { schema?: string }).schema;
      const table = [schema, 'migrations']
        .filter(Boolean)
        .map((part) => dataSource.driver.escape(part as string))
        .join('.');
      const migrations = await dataSource.query(`SELECT name FROM ${table} ORDER BY id`);
      console.log(JSON.stringify({ migrations: migrations.map((m: { name: string }) => m.name) }));
    }
    console.log(JSON.stringify({ ok: true, database: dataSource.options.type, type: payload.type, received: received.length, pending }));
  } finally {
    await app.close();
    receiver.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
