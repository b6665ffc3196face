import { request } from 'node:http';
import { captureText } from './secret-watch.js';

export interface AdminAnswer<T = any> {
  status: number;
  location: string | null;
  text: string;
  json: T;
}

/**
 * An HTTP client for the AdminJS routes with a session cookie. Every answer is handed to the leak watch, except
 * the `secret` field of the two answers that hand one out (create, rotate).
 */
export class AdminClient {
  cookie: string | null = null;
  setCookie: string | null = null;

  /**
   * `localAddress`: the loopback address to connect from. AdminJS limits login attempts per client address in one
   * process-wide map, so runs that log in many times (one per database) each use their own address.
   */
  constructor(
    readonly baseUrl: string,
    readonly localAddress?: string,
  ) {}

  async login(email: string, password: string): Promise<AdminAnswer> {
    const answer = await this.request('POST', '/admin/login', new URLSearchParams({ email, password }));
    return answer;
  }

  get<T = any>(path: string): Promise<AdminAnswer<T>> {
    return this.request('GET', path);
  }

  /** POSTs JSON, as AdminJS's own client does. */
  post<T = any>(path: string, data: Record<string, unknown> = {}): Promise<AdminAnswer<T>> {
    return this.request('POST', path, JSON.stringify(data), 'application/json');
  }

  private async request(method: string, path: string, body?: string | URLSearchParams, type?: string): Promise<AdminAnswer> {
    const payload = body === undefined ? undefined : String(body);
    const response = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>(
      (resolve, reject) => {
        const req = request(
          this.baseUrl + path,
          {
            method,
            localAddress: this.localAddress,
            headers: {
              ...(this.cookie ? { cookie: this.cookie } : {}),
              ...(payload === undefined
                ? {}
                : {
                    'content-type': type ?? 'application/x-www-form-urlencoded;charset=UTF-8',
                    'content-length': Buffer.byteLength(payload),
                  }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      },
    );
    const setCookie = response.headers['set-cookie']?.[0];
    if (setCookie) {
      this.setCookie = setCookie;
      this.cookie = setCookie.split(';')[0];
    }
    const { text } = response;
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    captureText(typeof json?.secret === 'string' ? JSON.stringify({ ...json, secret: undefined }) : text);
    const location = response.headers.location;
    return { status: response.status, location: typeof location === 'string' ? location : null, text, json };
  }
}
