import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { SessionOptions, Store } from 'express-session';

export interface WebhooksAdminAuthOptions {
  /** The operator's login. */
  email: string;
  password: string;
  /** Signs the session cookie: a long random string, the same on every instance. */
  cookieSecret: string;
  /** Send the cookie over HTTPS only (production). @default true */
  secureCookie?: boolean;
  /** Session store; express-session's in-memory store when unset (one process, sessions end with it). */
  store?: Store;
  /** Cookie name. @default 'webhooks_admin' */
  cookieName?: string;
  /** Session lifetime in ms. @default 8 hours */
  maxAgeMs?: number;
  /** Failed logins allowed per client address per minute. @default 5 */
  maxLoginAttemptsPerMinute?: number;
}

/**
 * The `auth` and `sessionOptions` of `AdminModule.createAdmin()` for one operator account: constant-time
 * credential check, a new session id at login (no session fixation), an httpOnly sameSite=lax cookie (secure by
 * default), a login rate limit, and no session stored for visitors who have not logged in.
 */
export function webhooksAdminAuth(options: WebhooksAdminAuthOptions) {
  if (!options.email || !options.password) throw new Error('The webhook admin needs an email and a password.');
  if (!options.cookieSecret || options.cookieSecret.length < 32) {
    throw new Error('The webhook admin cookie secret must be at least 32 characters (use a random string).');
  }
  const email = digest(options.email.trim().toLowerCase());
  const password = digest(options.password);
  const sessionOptions: SessionOptions = {
    secret: options.cookieSecret,
    name: options.cookieName ?? 'webhooks_admin',
    resave: false,
    saveUninitialized: false,
    store: options.store,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookie ?? true,
      maxAge: options.maxAgeMs ?? 8 * 3_600_000,
      path: '/',
    },
  };
  return {
    auth: {
      cookieName: sessionOptions.name!,
      cookiePassword: options.cookieSecret,
      maxRetries: { count: options.maxLoginAttemptsPerMinute ?? 5, duration: 60 },
      authenticate: async (givenEmail: string, givenPassword: string, context?: { req?: Request }) => {
        const ok =
          typeof givenEmail === 'string' &&
          typeof givenPassword === 'string' &&
          timingSafeEqual(digest(givenEmail.trim().toLowerCase()), email) &&
          timingSafeEqual(digest(givenPassword), password);
        if (!ok) return null;
        const req = context?.req;
        if (req?.session) await new Promise<void>((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
        return { email: options.email, title: 'Operator' };
      },
    },
    sessionOptions,
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
