import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { parseEncryptionKeys, type EncryptionKey, type WebhooksModuleOptions } from 'nestjs-outgoing-webhooks';

export type DatabaseConfig =
  | { type: 'sqlite'; path: string }
  | { type: 'postgres'; url: string; schema?: string }
  | { type: 'mysql'; url: string }
  | { type: 'mariadb'; url: string };

export interface AdminConfig {
  /** ADMIN_ENABLED=0 leaves the dashboard out. */
  enabled: boolean;
  email: string;
  password: string;
  /** True when ADMIN_PASSWORD was unset and a password was generated for this run (development only). */
  passwordGenerated: boolean;
  /** Signs the session cookie (ADMIN_COOKIE_SECRET; generated per run in development). */
  cookieSecret: string;
}

/**
 * What one process of the example does, so that one build runs as the API, as a worker, or as both (the default):
 * `API_ENABLED=0` serves only `/health` and `/metrics` (no shop API, docs, admin or demo receiver) and leaves the
 * schema to the API process; `WEBHOOKS_WORKER=0` sends no webhooks (the API records them, workers deliver).
 */
export interface ProcessRoles {
  /** API_ENABLED (default 1): the shop's REST API, its docs, the admin and the demo receiver. */
  api: boolean;
  /** WEBHOOKS_WORKER (default 1): this process delivers webhooks (runs the Bull workers). */
  worker: boolean;
}

export interface AppConfig {
  port: number;
  production: boolean;
  /** Which parts run in this process (see ProcessRoles); tests leave it out: both. */
  roles?: ProcessRoles;
  database: DatabaseConfig;
  /** Undefined: use redis://127.0.0.1:6379, or start a private Redis when nothing listens there. */
  redisUrl: string | undefined;
  /** Bull key prefix (isolates apps sharing one Redis). */
  bullPrefix: string;
  apiToken: string;
  apiTokenGenerated: boolean;
  /**
   * WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1: deliver to loopback/private addresses. Without it, development still lets
   * webhooks reach this app's own port on 127.0.0.1 and ::1 (the demo receiver), and nothing else local.
   */
  allowPrivateNetworks: boolean;
  /** WEBHOOKS_ALLOW_HTTP: accept http:// endpoint URLs (default on in development, off in production). */
  allowHttp: boolean;
  /** WEBHOOKS_ENCRYPTION_KEYS=id:key,...: keys that encrypt secrets at rest (required in production). */
  encryptionKeys: EncryptionKey[];
  /** Extra library options (tests shorten the retry schedule, for example). */
  webhooks: WebhooksModuleOptions;
  /** The AdminJS dashboard at /admin. */
  admin: AdminConfig;
}

export { ConfigError } from './config-error.js';

/** Reads the example's configuration from environment variables (see README). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const production = env.NODE_ENV === 'production';
  const port = env.PORT ? Number(env.PORT) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a port number (got ${env.PORT}).`);
  const roles: ProcessRoles = { api: flag(env, 'API_ENABLED', true), worker: flag(env, 'WEBHOOKS_WORKER', true) };
  if (!roles.api && !roles.worker) throw new ConfigError('API_ENABLED=0 with WEBHOOKS_WORKER=0 leaves this process nothing to do.');
  let apiToken = env.API_TOKEN ?? '';
  let apiTokenGenerated = false;
  if (!apiToken) {
    if (production) throw new ConfigError('API_TOKEN is required when NODE_ENV=production.');
    apiToken = randomBytes(24).toString('base64url');
    apiTokenGenerated = true;
  }
  return {
    port,
    production,
    roles,
    database: parseDatabaseUrl(env.DATABASE_URL ?? 'sqlite:./data/example.sqlite'),
    redisUrl: env.REDIS_URL || undefined,
    bullPrefix: env.BULL_PREFIX || 'bull',
    apiToken,
    apiTokenGenerated,
    allowPrivateNetworks: env.WEBHOOKS_ALLOW_PRIVATE_NETWORKS === '1',
    allowHttp: (env.WEBHOOKS_ALLOW_HTTP ?? (production ? '0' : '1')) === '1',
    encryptionKeys: parseEncryptionKeys(env.WEBHOOKS_ENCRYPTION_KEYS),
    webhooks: {},
    admin: loadAdminConfig(env, production, roles.api),
  };
}

/** A 0/1 switch; anything else is an error (a typo must not flip a process's role). */
function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value !== '0' && value !== '1') throw new ConfigError(`${name} must be 0 or 1 (got ${JSON.stringify(value)}).`);
  return value === '1';
}

function loadAdminConfig(env: NodeJS.ProcessEnv, production: boolean, api: boolean): AdminConfig {
  // The admin is part of the API: a worker-only process (API_ENABLED=0) has none.
  const enabled = api && flag(env, 'ADMIN_ENABLED', true);
  let password = env.ADMIN_PASSWORD ?? '';
  let cookieSecret = env.ADMIN_COOKIE_SECRET ?? '';
  const email = env.ADMIN_EMAIL || (production ? '' : 'admin@example.com');
  if (enabled && production) {
    const missing = [!env.ADMIN_EMAIL && 'ADMIN_EMAIL', !password && 'ADMIN_PASSWORD', !cookieSecret && 'ADMIN_COOKIE_SECRET'].filter(
      Boolean,
    );
    if (missing.length) {
      throw new ConfigError(
        `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required when NODE_ENV=production (or set ADMIN_ENABLED=0).`,
      );
    }
  }
  if (enabled && cookieSecret && cookieSecret.length < 32) throw new ConfigError('ADMIN_COOKIE_SECRET must be at least 32 characters.');
  const passwordGenerated = !password;
  if (!password) password = randomBytes(12).toString('base64url');
  if (!cookieSecret) cookieSecret = randomBytes(32).toString('base64url');
  return { enabled, email, password, passwordGenerated, cookieSecret };
}

/**
 * In development, webhooks may reach this app's own port on loopback (the demo receiver) without
 * WEBHOOKS_ALLOW_PRIVATE_NETWORKS: that address and port only, not loopback or private networks in general. Not
 * in production, and not when the port is chosen at start (0).
 */
export function demoReceiverNetworks(config: AppConfig): string[] {
  const own =
    config.production || config.allowPrivateNetworks || config.port === 0 ? [] : [`127.0.0.1:${config.port}`, `[::1]:${config.port}`];
  return [...own, ...(config.webhooks.allowedNetworks ?? [])];
}

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!path) throw new ConfigError('DATABASE_URL sqlite:<path> needs a file path, e.g. sqlite:./data/example.sqlite.');
    return { type: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const schema = new URL(url).searchParams.get('schema') ?? undefined;
    return { type: 'postgres', url, schema };
  }
  if (url.startsWith('mysql://')) return { type: 'mysql', url };
  if (url.startsWith('mariadb://')) return { type: 'mariadb', url };
  throw new ConfigError(`DATABASE_URL must start with sqlite:, postgres://, mysql:// or mariadb:// (got ${JSON.stringify(url)}).`);
}

export function sqliteDirectory(config: DatabaseConfig): string | undefined {
  return config.type === 'sqlite' && config.path !== ':memory:' ? dirname(config.path) : undefined;
}
