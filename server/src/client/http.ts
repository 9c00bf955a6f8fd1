import { MailroomError } from './errors.js';

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

type Params = Record<string, string | number | undefined>;

/** The API's base URL with any trailing `/` or `/api` taken off, so both spellings work. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api$/, '');
}

/** Credentials for a Mailroom started with --api-token or --ui-auth. */
export interface ClientCredentials {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as basic auth, for a login of --ui-auth. */
  auth?: { username: string; password: string };
}

/** The Authorization header for the credentials given, if any; a token wins. */
export function authorization({ token, auth }: ClientCredentials): string | undefined {
  if (token !== undefined) return `Bearer ${token}`;
  if (auth === undefined) return undefined;
  // btoa takes Latin-1 only: UTF-8 bytes first, as RFC 7617's charset="UTF-8" asks.
  let binary = '';
  for (const byte of new TextEncoder().encode(`${auth.username}:${auth.password}`)) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** Requests to one Mailroom, with its error answers turned into {@link MailroomError}. */
export class Http {
  constructor(
    readonly base: string,
    private readonly fetchFn: FetchFunction,
    private readonly authorization?: string,
  ) {}

  url(path: string, params: Params = {}): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
    const query = search.toString();
    return `${this.base}/api${path}${query ? `?${query}` : ''}`;
  }

  /** The response, whatever its status; only a failure to connect throws. */
  async send(path: string, params: Params = {}, init: RequestInit = {}): Promise<Response> {
    const url = this.url(path, params);
    const request = this.authorization === undefined ? init : { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: this.authorization } };
    try {
      return await this.fetchFn(url, request);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      throw new MailroomError(`Cannot reach Mailroom at ${this.base}: ${(error as Error).message}`, 0, 'unreachable', { cause: error });
    }
  }

  async json<T>(path: string, params: Params = {}, init: RequestInit = {}): Promise<T> {
    const response = await this.send(path, params, init);
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }

  async bytes(path: string, init: RequestInit = {}): Promise<Uint8Array> {
    const response = await this.send(path, {}, init);
    if (!response.ok) throw await errorOf(response);
    return new Uint8Array(await response.arrayBuffer());
  }
}

/** `{ error, message }` from the API, or the status line when the body is something else. */
export async function errorOf(response: Response): Promise<MailroomError> {
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: unknown; message?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON: the status line says what there is to say.
  }
  return new MailroomError(`Mailroom answered ${response.status}: ${message}`, response.status, code);
}
