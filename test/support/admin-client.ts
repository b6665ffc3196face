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

  constructor(readonly baseUrl: string) {}

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
    const response = await fetch(this.baseUrl + path, {
      method,
      redirect: 'manual',
      headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...(type ? { 'content-type': type } : {}) },
      body,
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      this.setCookie = setCookie;
      this.cookie = setCookie.split(';')[0];
    }
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    captureText(typeof json?.secret === 'string' ? JSON.stringify({ ...json, secret: undefined }) : text);
    return { status: response.status, location: response.headers.get('location'), text, json };
  }
}
