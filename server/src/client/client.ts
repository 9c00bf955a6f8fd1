import { authorization, baseUrl, Http, type ClientCredentials, type FetchFunction } from './http.js';
import { Inbox } from './inbox.js';
import { compileMatch, type MessageMatch } from './match.js';
import { Message } from './message.js';
import type { MessageDetail, MessagePage } from './types.js';
import { clear, expectNone, list, waitFor, type ListOptions, type QuietOptions, type WaitOptions } from './wait.js';

export interface MailroomClientOptions extends ClientCredentials {
  /** Mailroom's HTTP address, such as `http://127.0.0.1:8025` (a trailing `/api` is fine too). */
  url: string;
  /** The fetch to use; the global one by default (Node 18+, browsers). */
  fetch?: FetchFunction;
  /** Default wait timeout in milliseconds; 10 000 unless set. */
  timeout?: number;
}

export interface InboxOptions {
  /** Use this address instead of a random one. */
  address?: string;
  /** Start of the random local part; default `t`. */
  prefix?: string;
  /** Default `mailroom.test`. */
  domain?: string;
}

let inboxCounter = 0;

/** 12 random lower-case letters and digits, from crypto.getRandomValues where the platform has it. */
function randomPart(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(12);
  const cryptoApi = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto;
  if (cryptoApi?.getRandomValues) cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  // The counter keeps two inboxes of one process apart even if the random source were poor.
  bytes[0] = (bytes[0]! + inboxCounter++) & 0xff;
  let text = '';
  for (const byte of bytes) text += alphabet[byte % alphabet.length];
  return text;
}

/**
 * A typed client for Mailroom's HTTP API. It needs nothing but `fetch`, so it
 * runs in Node 18+ and in browsers (on Mailroom's own origin, or one allowed
 * with `--api-cors`). Timeouts are in milliseconds. Waits are long polls: each
 * answers the moment the mail is stored, with no polling on a timer.
 *
 * Waits and `expectNoMessage` count every stored message by default (`after: 0`),
 * so mail sent before the call is found; pass `after: message` or `'now'` to count
 * only later mail, or use {@link MailroomClient.inbox} to get an address of your own.
 */
export class MailroomClient {
  /** The API's base URL, without a trailing `/`. */
  readonly url: string;
  private readonly http: Http;
  private readonly defaultTimeout: number;

  constructor(options: MailroomClientOptions | string) {
    const settings = typeof options === 'string' ? ({ url: options } as MailroomClientOptions) : options;
    const { url, fetch: fetchFn, timeout } = settings;
    if (!url) throw new TypeError('MailroomClient needs the url of Mailroom, such as http://127.0.0.1:8025');
    const globalFetch = (globalThis as { fetch?: FetchFunction }).fetch;
    const chosen = fetchFn ?? (globalFetch ? globalFetch.bind(globalThis) : undefined);
    if (!chosen) throw new TypeError('No fetch here: pass one as new MailroomClient({ url, fetch })');
    this.url = baseUrl(url);
    this.http = new Http(this.url, chosen, authorization(settings));
    this.defaultTimeout = timeout ?? 10_000;
  }

  /** A page of message summaries, newest first (`GET /api/messages`). A RegExp subject filters the page here. */
  messages(match?: MessageMatch | string, options: ListOptions = {}): Promise<MessagePage> {
    return list(this.http, compileMatch(match), options);
  }

  /** One message in full. */
  async message(id: string): Promise<Message> {
    return new Message(this.http, await this.http.json<MessageDetail>(`/messages/${encodeURIComponent(id)}`));
  }

  /**
   * The first (oldest) message matching `match`, waiting for it to arrive if
   * needed. Throws {@link MailroomTimeoutError} after `timeout` ms, its message
   * listing what arrived instead. A string is a query in Mailroom's language.
   */
  async waitForMessage(match: (MessageMatch & WaitOptions) | string = {}): Promise<Message> {
    const options = typeof match === 'string' ? {} : match;
    const [message] = await waitFor(this.http, compileMatch(match), 1, options, this.defaultTimeout);
    return message!;
  }

  /** The first `count` messages matching `match`, oldest first, waiting for them if needed. */
  waitForMessages(count: number, match: (MessageMatch & WaitOptions) | string = {}): Promise<Message[]> {
    const options = typeof match === 'string' ? {} : match;
    return waitFor(this.http, compileMatch(match), count, options, this.defaultTimeout);
  }

  /**
   * Resolves once `within` ms (default 1000) pass with no message matching
   * `match`; throws {@link UnexpectedMessageError} listing any that came.
   * Options may be given in the first argument or the second.
   */
  expectNoMessage(match: (MessageMatch & QuietOptions) | string = {}, options: QuietOptions = {}): Promise<void> {
    return expectNone(this.http, compileMatch(match), { ...(typeof match === 'string' ? {} : match), ...options });
  }

  /** Deletes every message, or those matching `match`; resolves to how many were deleted. */
  clear(match?: MessageMatch | string): Promise<number> {
    return clear(this.http, compileMatch(match));
  }

  /** True when every listener of Mailroom accepts connections (`GET /api/health` answers 200). */
  async health(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      const response = await this.http.send('/health', {}, options.signal ? { signal: options.signal } : {});
      return response.ok;
    } catch (error) {
      if (options.signal?.aborted) return false;
      if ((error as { code?: string }).code === 'unreachable') return false;
      throw error;
    }
  }

  /**
   * A fresh address of its own (`t-<random>@mailroom.test`, lower case, no `+`)
   * with the same list, wait and clear methods scoped to it.
   */
  inbox(options: InboxOptions = {}): Inbox {
    const address = options.address ?? `${options.prefix ?? 't'}-${randomPart()}@${options.domain ?? 'mailroom.test'}`;
    return new Inbox(this.http, address.toLowerCase(), this.defaultTimeout);
  }
}
