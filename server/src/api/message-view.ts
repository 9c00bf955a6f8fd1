import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { replaceCidLinks } from '../mime/cid-links.js';
import { partBody } from '../mime/decode.js';
import { findPart } from '../mime/find-part.js';
import { decodeWords, parseHeaderFields } from '../mime/headers.js';
import { MessageCache } from '../store/message-cache.js';
import type { MessageStore } from '../store/message-store.js';
import type { StoredMessage } from '../store/types.js';
import { toSummary } from './serialize.js';
import type { MessageDetail } from './schemas.js';

const EMPTY_SHA256 = createHash('sha256').digest('hex');

interface View {
  headers: { name: string; value: string }[];
  text: string | null;
  html: string | null;
  /** Decoded size and SHA-256 (hex) of each attachment, in the digest's order. */
  attachmentFacts: { size: number; sha256: string }[];
  /** Rough memory cost, for the cache budget. */
  cost: number;
}

/**
 * Full message views, parsed with mailparser only when someone opens a message,
 * and kept in a least-recently-used cache with a memory budget.
 */
export class MessageViews {
  private readonly cache: MessageCache<View>;

  constructor(store: MessageStore, budgetBytes: number) {
    this.cache = new MessageCache(store, budgetBytes, (view) => view.cost);
  }

  close(): void {
    this.cache.close();
  }

  async detail(message: StoredMessage): Promise<MessageDetail> {
    const view = await this.view(message);
    return {
      ...toSummary(message),
      headers: view.headers,
      text: view.text,
      html: view.html,
      attachments: message.digest.attachments.map((a, i) => ({
        partId: a.partId,
        filename: a.filename,
        contentType: a.contentType,
        size: view.attachmentFacts[i]?.size ?? 0,
        sha256: view.attachmentFacts[i]?.sha256 ?? EMPTY_SHA256,
        contentId: a.contentId,
        disposition: a.disposition,
      })),
      smtp: message.smtp,
    };
  }

  private async view(message: StoredMessage): Promise<View> {
    const hit = this.cache.get(message.id);
    if (hit) return hit;
    const view = await buildView(message);
    this.cache.set(message.id, view);
    return view;
  }
}


async function buildView(message: StoredMessage): Promise<View> {
  const { raw, digest } = message;
  const parsed = await simpleParser(raw, {
    keepCidLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const headers = parseHeaderFields(raw.subarray(0, digest.root.bodyStart)).map((field) => ({
    name: field.name,
    value: decodeWords(field.value),
  }));
  const attachmentFacts = digest.attachments.map((a) => {
    const part = findPart(digest.root, a.partId);
    const body = part ? partBody(raw, part) : Buffer.alloc(0);
    return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  });
  const text = parsed.text ?? null;
  // Inline images are served by Mailroom itself, so a preview needs no network access.
  const partUrl = (partId: string): string => `/api/messages/${encodeURIComponent(message.id)}/parts/${partId}`;
  const html = typeof parsed.html === 'string' ? replaceCidLinks(parsed.html, message.digest.attachments, partUrl) : null;
  const cost =
    2 * ((text?.length ?? 0) + (html?.length ?? 0)) +
    headers.reduce((n, h) => n + 2 * (h.name.length + h.value.length), 256) +
    200 * attachmentFacts.length;
  return { headers, text, html, attachmentFacts, cost };
}
