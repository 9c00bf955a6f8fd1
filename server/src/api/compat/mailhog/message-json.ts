import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { DerivedCache } from '../derived-cache.js';
import { goJsonPieces } from './go-encode.js';
import { mailhogMessage } from './message.js';

/**
 * Memory for MailHog's JSON of recent messages. A message's JSON holds its source about twice
 * over (Content.Body and Raw.Data) and then each part once per level of nesting: about 10 KB
 * for 4 KB of mail, so this keeps a few thousand, many pages of a listing.
 */
export const MESSAGE_JSON_BYTES = 32 * 1024 * 1024;

/**
 * Mail larger than this is encoded on every request and streamed as it is encoded: its JSON,
 * at least twice its size, would cost more than an entry of the cache may (derived-cache.ts).
 */
const CACHED_RAW_MAX = MESSAGE_JSON_BYTES / 16;

/**
 * Most a listing holds at once. A listing up to this size goes out as one Buffer; a longer one,
 * of many or large messages, is streamed in pieces of about this size, each message's JSON made
 * as the stream gets to it.
 */
const PIECE_BYTES = 4 * 1024 * 1024;

const COMMA = Buffer.from(',');

/** JSON whole, or in pieces to be streamed. */
export type Json = Buffer | Iterable<string | Buffer>;

/**
 * The compact JSON of MailHog's data.Message for each message, encoded once and kept as the
 * UTF-8 that goes out: it depends only on what Mailroom keeps unchanged (the bytes received, the
 * envelope, the arrival time), and encoding it is most of the cost of a listing.
 */
export class MessageJson {
  private readonly cache: DerivedCache<Buffer>;

  constructor(store: Store, budgetBytes: number) {
    this.cache = new DerivedCache<Buffer>(store, budgetBytes, (message) => Buffer.from([...encode(message)].join('')), (json) => json.length);
  }

  /** The JSON of one message: whole, unless the message is too large to keep its JSON. */
  of(message: StoredMessage): Json {
    return message.raw.length > CACHED_RAW_MAX ? encode(message) : this.cache.get(message);
  }

  /**
   * `head`, the messages' JSON separated by commas, and `tail`: whole when it comes to at most
   * PIECE_BYTES, which saves a page of 50 the cost of a stream (about as much as the rest of the
   * reply), else in pieces.
   */
  list(head: string, messages: readonly StoredMessage[], tail: string): Json {
    const pieces = this.pieces(head, messages, tail);
    const first = pieces.next();
    if (first.done === true) return first.value;
    return (function* (): Generator<Buffer> {
      yield first.value;
      const last = yield* pieces;
      yield last;
    })();
  }

  close(): void {
    this.cache.close();
  }

  /** The listing in pieces of about PIECE_BYTES, the last one returned rather than yielded. */
  private *pieces(head: string, messages: readonly StoredMessage[], tail: string): Generator<Buffer, Buffer> {
    const gathered: Buffer[] = [Buffer.from(head)];
    let bytes = gathered[0]!.length;
    for (let i = 0; i < messages.length; i++) {
      if (i > 0) {
        gathered.push(COMMA);
        bytes += COMMA.length;
      }
      const json = this.of(messages[i]!);
      for (const piece of Buffer.isBuffer(json) ? [json] : json) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        gathered.push(chunk);
        bytes += chunk.length;
        if (bytes >= PIECE_BYTES) {
          yield Buffer.concat(gathered, bytes);
          gathered.length = 0;
          bytes = 0;
        }
      }
    }
    gathered.push(Buffer.from(tail));
    return Buffer.concat(gathered);
  }
}

function encode(message: StoredMessage): Generator<string> {
  return goJsonPieces(mailhogMessage(message), { indent: false });
}
