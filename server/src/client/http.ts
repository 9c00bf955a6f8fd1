import { MailroomError } from './errors.js';

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

type Params = Record<string, string | number | undefined>;

/** The API's base URL with any trailing `/` or `/api` taken off, so both spellings work. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api$/, '');
}

/** Requests to one Mailroom, with its error answers turned into {@link MailroomError}. */
export class Http {
  constructor(
    readonly base: string,
    private readonly fetchFn: FetchFunction,
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
    try {
      return await this.fetchFn(url, init);
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
