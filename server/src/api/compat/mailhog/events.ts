import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import { goJsonPieces } from './go-encode.js';
import { mailhogMessage } from './message.js';
import { MAX_UNSENT_BYTES } from '../ws-hub.js';

/** The bound a WebSocket client has too (ws-hub.ts): a listener that keeps up never comes near it. */
export { MAX_UNSENT_BYTES };

/** How often MailHog writes its keep-alive, which also finds connections that died silently. */
const KEEPALIVE_MS = 60_000;

/**
 * MailHog's GET /api/v1/events (ian-kent/goose): for each new message, its
 * JSON indented by two spaces, each line written as `data: <line>\n`, then a
 * blank line; no `event:` or `id:` field, so EventSource fires `message`.
 * Every minute, `keepalive: \n\n`, a field EventSource ignores.
 *
 * Each event goes out as one HTTP chunk, as goose writes it; Node writes the
 * chunk size in lower-case hex where goose writes upper case, which no HTTP
 * client tells apart. The JSON of one message is built as one string here,
 * as MailHog does, and shared by every client.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private keepalive: NodeJS.Timeout | null = null;
  private readonly onNew = (message: StoredMessage): void => {
    if (this.clients.size === 0) return;
    let event: string;
    try {
      const json = [...goJsonPieces(mailhogMessage(message), { indent: true })].join('');
      event = `data: ${json.replaceAll('\n', '\ndata: ')}\n\n`;
    } catch (error) {
      // A message whose JSON outgrows V8's largest string; the clients miss this one event.
      this.logger.warn({ err: error, id: message.id }, 'MailHog event stream: could not encode message');
      return;
    }
    this.broadcast(event);
  };

  /** Encoding waits for the next turn of the event loop, so that SMTP's 250 for the message is not held up by it. */
  private readonly onStored = (message: StoredMessage): void => {
    setImmediate(this.onNew, message);
  };

  constructor(
    private readonly store: Store,
    private readonly logger: FastifyBaseLogger,
  ) {
    store.events.on('new', this.onStored);
  }

  add(response: ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    response.flushHeaders();
    this.clients.add(response);
    response.once('close', () => {
      this.clients.delete(response);
      if (this.clients.size === 0) this.stopKeepalive();
    });
    this.keepalive ??= setInterval(() => this.broadcast('keepalive: \n\n'), KEEPALIVE_MS).unref();
  }

  /** Ends every stream (a clean end of the chunked body) and stops listening to the store. */
  close(): void {
    this.store.events.off('new', this.onStored);
    this.stopKeepalive();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  /** One write per event, which Node sends as one chunk of the chunked body. */
  private broadcast(event: string): void {
    for (const client of this.clients) {
      if (client.writableLength > MAX_UNSENT_BYTES) {
        this.logger.warn({ unsent: client.writableLength }, 'MailHog event stream: dropped a client that stopped reading');
        this.clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(event);
    }
    if (this.clients.size === 0) this.stopKeepalive();
  }

  private stopKeepalive(): void {
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.keepalive = null;
  }
}
