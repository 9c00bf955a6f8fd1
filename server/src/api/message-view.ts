import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import { replaceCidLinks } from '../mime/cid-links.js';
import { partBody } from '../mime/decode.js';
import { findPart } from '../mime/find-part.js';
import { decodeWords, parseHeaderFields } from '../mime/headers.js';
import { VIEW_PARSER_OPTIONS, viewBodies, type ViewBodies } from '../mime/view-bodies.js';
import { MessageCache } from '../store/message-cache.js';
import type { Store } from '../store/store.js';
import type { StoredMessage } from '../store/types.js';
import { toSummary } from './serialize.js';
import type { MessageDetail } from './schemas.js';

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const FACTS_PER_TURN = 1000;

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
 * Full message views, parsed with mailparser only when someone opens a message
 * (or read from the part index when mailparser cannot parse it), and kept in a
 * least-recently-used cache with a memory budget.
 */
export class MessageViews {
  private readonly cache: MessageCache<View>;

  constructor(store: Store, budgetBytes: number) {
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

/**
 * Text and HTML bodies by mailparser, or by the same rules from the part index
 * when the index was cut short (mailparser would stop at the same cap) or
 * mailparser fails, so that every message opens.
 */
async function readBodies(message: StoredMessage): Promise<ViewBodies> {
  const { raw, digest } = message;
  if (!digest.truncated) {
    try {
      const parsed = await simpleParser(raw, VIEW_PARSER_OPTIONS);
      return { text: parsed.text ?? null, html: typeof parsed.html === 'string' ? parsed.html : null };
    } catch {
      // Read from the index below.
    }
  }
  return viewBodies(raw, digest.root);
}

async function buildView(message: StoredMessage): Promise<View> {
  const { raw, digest } = message;
  const bodies = await readBodies(message);
  const headers = parseHeaderFields(raw.subarray(0, digest.root.bodyStart)).map((field) => ({
    name: field.name,
    value: decodeWords(field.value),
  }));
  const attachmentFacts: View['attachmentFacts'] = [];
  for (const a of digest.attachments) {
    // A message may have thousands of attachments; let other requests run between them.
    if (attachmentFacts.length > 0 && attachmentFacts.length % FACTS_PER_TURN === 0) await nextTurn();
    const part = findPart(digest.root, a.partId);
    const body = part ? partBody(raw, part) : Buffer.alloc(0);
    attachmentFacts.push({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  }
  const { text } = bodies;
  // Inline images are served by Mailroom itself, so a preview needs no network access.
  const partUrl = (partId: string): string => `/api/messages/${encodeURIComponent(message.id)}/parts/${partId}`;
  const html = bodies.html === null ? null : replaceCidLinks(bodies.html, message.digest.attachments, partUrl);
  const cost =
    2 * ((text?.length ?? 0) + (html?.length ?? 0)) +
    headers.reduce((n, h) => n + 2 * (h.name.length + h.value.length), 256) +
    200 * attachmentFacts.length;
  return { headers, text, html, attachmentFacts, cost };
}
