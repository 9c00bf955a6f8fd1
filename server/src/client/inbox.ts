import type { Http } from './http.js';
import { compileMatch, type MessageMatch } from './match.js';
import type { Message } from './message.js';
import type { MessagePage } from './types.js';
import { clear, expectNone, list, waitFor, type ListOptions, type QuietOptions, type WaitOptions } from './wait.js';

/**
 * A unique address and the client's methods scoped to it: every call adds
 * `to:<address>` (an exact match on RCPT TO, To, Cc and Bcc), so tests running
 * in parallel against one Mailroom never see each other's mail.
 */
export class Inbox {
  constructor(
    private readonly http: Http,
    /** The inbox's address, such as `t-3k9x0a1b2c4d@mailroom.test`: send mail here. */
    readonly address: string,
    private readonly defaultTimeout: number,
  ) {}

  /** The inbox's messages (and the match's), newest first. */
  messages(match?: MessageMatch | string, options: ListOptions = {}): Promise<MessagePage> {
    return list(this.http, compileMatch(match, this.address), options);
  }

  /** The first message to this inbox matching `match`; see {@link MailroomClient.waitForMessage}. */
  async waitForMessage(match: (MessageMatch & WaitOptions) | string = {}): Promise<Message> {
    const options = typeof match === 'string' ? {} : match;
    const [message] = await waitFor(this.http, compileMatch(match, this.address), 1, options, this.defaultTimeout);
    return message!;
  }

  /** The first `count` messages to this inbox matching `match`, oldest first. */
  waitForMessages(count: number, match: (MessageMatch & WaitOptions) | string = {}): Promise<Message[]> {
    const options = typeof match === 'string' ? {} : match;
    return waitFor(this.http, compileMatch(match, this.address), count, options, this.defaultTimeout);
  }

  /** Resolves when no mail to this inbox matching `match` comes within `within` ms (default 1000). */
  expectNoMessage(match: (MessageMatch & QuietOptions) | string = {}, options: QuietOptions = {}): Promise<void> {
    return expectNone(this.http, compileMatch(match, this.address), { ...(typeof match === 'string' ? {} : match), ...options });
  }

  /** Deletes this inbox's messages (those matching `match`, if given); resolves to how many. */
  clear(match?: MessageMatch | string): Promise<number> {
    return clear(this.http, compileMatch(match, this.address));
  }

  toString(): string {
    return this.address;
  }
}
