import type { Http } from './http.js';
import type { Address, AttachmentInfo, Envelope, Link, MessageDetail } from './types.js';

const utf8 = new TextDecoder('utf-8');

/** An attachment (or inline part) of a message; its content is fetched when asked for. */
export class Attachment implements AttachmentInfo {
  readonly partId: string;
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
  readonly disposition: 'attachment' | 'inline';
  readonly sha256: string;

  constructor(
    private readonly http: Http,
    readonly messageId: string,
    info: AttachmentInfo,
  ) {
    this.partId = info.partId;
    this.filename = info.filename;
    this.contentType = info.contentType;
    this.size = info.size;
    this.contentId = info.contentId;
    this.disposition = info.disposition;
    this.sha256 = info.sha256;
  }

  /** Where the decoded content is served. */
  get url(): string {
    return this.http.url(`/messages/${encodeURIComponent(this.messageId)}/attachments/${encodeURIComponent(this.partId)}`);
  }

  /** The decoded bytes. */
  async content(): Promise<Uint8Array> {
    return this.http.bytes(`/messages/${encodeURIComponent(this.messageId)}/attachments/${encodeURIComponent(this.partId)}`);
  }

  /** The decoded content read as UTF-8. */
  async text(): Promise<string> {
    return utf8.decode(await this.content());
  }

  toJSON(): AttachmentInfo {
    const { partId, filename, contentType, size, contentId, disposition, sha256 } = this;
    return { partId, filename, contentType, size, contentId, disposition, sha256 };
  }
}

/**
 * One message in full. The fields of `GET /api/messages/:id` are plain
 * properties; what takes another request (links, codes, the raw source,
 * attachment content) is a method that fetches it when called.
 */
export class Message implements MessageDetail {
  readonly id: string;
  readonly from: Address | null;
  readonly to: Address[];
  readonly cc: Address[];
  readonly subject: string;
  readonly date: string | null;
  readonly receivedAt: string;
  readonly size: number;
  readonly read: boolean;
  readonly tags: string[];
  readonly attachmentCount: number;
  readonly snippet: string;
  readonly envelope: Envelope;
  readonly headers: { name: string; value: string }[];
  /** The text body, or null when the message has none. */
  readonly text: string | null;
  /** The HTML body (`cid:` references pointed at Mailroom's part URLs), or null. */
  readonly html: string | null;
  /** Attachments and inline parts, each with `sha256` and a `content()` method. */
  readonly attachments: Attachment[];
  readonly smtp: MessageDetail['smtp'];

  constructor(
    private readonly http: Http,
    detail: MessageDetail,
  ) {
    this.id = detail.id;
    this.from = detail.from;
    this.to = detail.to;
    this.cc = detail.cc;
    this.subject = detail.subject;
    this.date = detail.date;
    this.receivedAt = detail.receivedAt;
    this.size = detail.size;
    this.read = detail.read;
    this.tags = detail.tags;
    this.attachmentCount = detail.attachmentCount;
    this.snippet = detail.snippet;
    this.envelope = detail.envelope;
    this.headers = detail.headers;
    this.text = detail.text;
    this.html = detail.html;
    this.attachments = detail.attachments.map((a) => new Attachment(http, detail.id, a));
    this.smtp = detail.smtp;
  }

  private path(suffix = ''): string {
    return `/messages/${encodeURIComponent(this.id)}${suffix}`;
  }

  /** The first value of a top-level header field (name case-insensitive), or undefined. */
  header(name: string): string | undefined {
    const wanted = name.toLowerCase();
    return this.headers.find((h) => h.name.toLowerCase() === wanted)?.value;
  }

  /** Every value of a top-level header field, in order. */
  headerValues(name: string): string[] {
    const wanted = name.toLowerCase();
    return this.headers.filter((h) => h.name.toLowerCase() === wanted).map((h) => h.value);
  }

  /** The first attachment with this file name, or undefined. */
  attachment(filename: string): Attachment | undefined {
    return this.attachments.find((a) => a.filename === filename);
  }

  /** Every link in the HTML and text bodies, in order, as Mailroom extracts them. */
  async links(): Promise<Link[]> {
    return (await this.http.json<{ links: Link[] }>(this.path('/links'))).links;
  }

  /**
   * Codes found in the message (one-time passwords, verification codes), by
   * Mailroom's default pattern or by `pattern`: a RegExp is sent as its source,
   * so its flags do not travel. Mailroom runs it on RE2, which has no lookaround
   * or backreferences: such a pattern is refused with a MailroomError (400).
   */
  async codes(pattern?: string | RegExp): Promise<string[]> {
    const source = pattern instanceof RegExp ? pattern.source : pattern;
    return (await this.http.json<{ codes: string[] }>(this.path('/codes'), { pattern: source })).codes;
  }

  /** The message exactly as received, read as UTF-8. */
  async raw(): Promise<string> {
    return utf8.decode(await this.rawBytes());
  }

  /** The exact bytes received. */
  async rawBytes(): Promise<Uint8Array> {
    return this.http.bytes(this.path('/raw'));
  }

  /** Removes the message from Mailroom. */
  async delete(): Promise<void> {
    await this.http.json(this.path(), {}, { method: 'DELETE' });
  }

  /** The API's JSON for the message, so `JSON.stringify(message)` prints what the API sent. */
  toJSON(): MessageDetail {
    const { id, from, to, cc, subject, date, receivedAt, size, read, tags, attachmentCount, snippet, envelope, headers, text, html, smtp } = this;
    return { id, from, to, cc, subject, date, receivedAt, size, read, tags, attachmentCount, snippet, envelope, headers, text, html, attachments: this.attachments.map((a) => a.toJSON()), smtp };
  }
}
