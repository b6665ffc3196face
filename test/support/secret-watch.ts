import { ConsoleLogger } from '@nestjs/common';
import { inspect } from 'node:util';

/**
 * Watches a test file for leaked secrets: every signing secret an API answer hands out is noted, every log line of
 * the test apps and every other API answer is kept, and `leaks()` lists the texts that contain a noted secret.
 * `test/support/setup.ts` checks it after each file, so the whole suite runs under the watch.
 */
const secrets = new Set<string>();
const texts: string[] = [];

/** Notes a secret handed out once (creation, rotation). */
export function noteSecret(secret: string): void {
  secrets.add(secret.replace(/^whsec_/, ''));
}

/** Keeps a text (a log line, an API answer) to check for secrets. */
export function captureText(text: string): void {
  texts.push(text);
}

/** Drops the last kept text (for the watch's own self-check). */
export function forgetLastText(): void {
  texts.pop();
}

/** Texts that contain a noted secret, each shortened around the secret. */
export function leaks(): string[] {
  const found: string[] = [];
  for (const text of texts) {
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      if (at >= 0) found.push(`…${text.slice(Math.max(0, at - 80), at)}<SECRET>…`);
    }
  }
  return found;
}

export function watchedCounts(): { secrets: number; texts: number } {
  return { secrets: secrets.size, texts: texts.length };
}

/** Records every log line (all levels) and prints errors and warnings as usual. */
export class CapturingLogger extends ConsoleLogger {
  private record(level: string, message: unknown, params: unknown[]): void {
    captureText([level, message, ...params].map((p) => (typeof p === 'string' ? p : inspect(p, { depth: 5 }))).join(' '));
  }
  override log(message: unknown, ...params: unknown[]): void {
    this.record('log', message, params);
  }
  override debug(message: unknown, ...params: unknown[]): void {
    this.record('debug', message, params);
  }
  override verbose(message: unknown, ...params: unknown[]): void {
    this.record('verbose', message, params);
  }
  override warn(message: unknown, ...params: unknown[]): void {
    this.record('warn', message, params);
    super.warn(message, ...params);
  }
  override error(message: unknown, ...params: unknown[]): void {
    this.record('error', message, params);
    super.error(message, ...params);
  }
  override fatal(message: unknown, ...params: unknown[]): void {
    this.record('fatal', message, params);
    super.fatal(message, ...params);
  }
}

/** Notes every secret the app's WebhooksService hands out (tests that call the service directly). */
export function watchSecretsOf(service: {
  createEndpoint(...args: any[]): Promise<{ secret: string }>;
  rotateSecret(...args: any[]): Promise<{ secret: string }>;
}): void {
  for (const method of ['createEndpoint', 'rotateSecret'] as const) {
    const original = service[method].bind(service);
    service[method] = async (...args: any[]) => {
      const result = await original(...args);
      noteSecret(result.secret);
      return result;
    };
  }
}
