import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Store } from '../../../store/store.js';
import { isTag, tagsOf } from '../../../store/tags.js';
import { SEEN, type StoredMessage } from '../../../store/types.js';
import { goJson } from '../go-json.js';
import { notWebSocket, SocketHub } from '../ws-hub.js';
import type { MailpitContext } from './context.js';
import type { MailpitFacts } from './facts.js';
import { summaryOf } from './message-json.js';

/** Mailpit sends at most one stats frame per this many milliseconds, this long after the change that called for it. */
export const STATS_DELAY_MS = 250;

/** A delete of more messages than this at once is sent as one `prune`, as Mailpit does for a search's matches. */
export const PRUNE_ABOVE = 200;

const frame = (type: string, data: unknown): Buffer => Buffer.from(goJson({ Type: type, Data: data }, { newline: false }), 'utf8');

function sameTags(before: ReadonlySet<string>, after: ReadonlySet<string>): boolean {
  let count = 0;
  for (const flag of before) {
    if (!isTag(flag)) continue;
    if (!after.has(flag)) return false;
    count += 1;
  }
  return count === tagsOf({ flags: after }).length;
}

/**
 * Mailpit's event stream (server/websockets, and the Broadcast calls in
 * internal/storage): every frame a text message `{"Type":…,"Data":…}`, JSON
 * as json.Marshal writes it.
 *
 * - `new`: the message's summary as /api/v1/messages lists it, except that
 *   To, Cc, Bcc and ReplyTo are `[]` where the list has null, Read is false
 *   and Tags are sorted as Go's sort.Strings sorts, as Mailpit sends them.
 * - `update`: `{ID, Read}` when the read state changed, `{ID, Tags}` (in the
 *   order they were set) when the tags did.
 * - `delete`: `{ID}` per message; `prune` (null) for more than 200 at once.
 * - `truncate` (null) when every message is deleted.
 * - `stats`: `{Total, Unread, Version}`, 250 ms after a change of counts or a
 *   client's connecting, at most once per 250 ms.
 *
 * The store tells a delete from an eviction no more than a deleted search from
 * a list of IDs, so where Mailpit sends `prune` for its own pruning Mailroom
 * sends `delete`s, and the 200 rule applies to every delete. Tag renames and
 * deletions come as one `update` per message where Mailpit sends `prune`.
 */
export class MailpitEvents {
  private readonly hub: SocketHub;
  private statsTimer: NodeJS.Timeout | null = null;

  private readonly onNew = (message: StoredMessage): void => {
    if (this.hub.size === 0) return;
    const summary = summaryOf(message, this.facts.of(message), 'messages');
    this.hub.broadcast(
      frame('new', {
        ...summary,
        Read: false,
        To: summary.To ?? [],
        Cc: summary.Cc ?? [],
        Bcc: summary.Bcc ?? [],
        ReplyTo: summary.ReplyTo ?? [],
        Tags: tagsOf(message).sort(),
      }),
    );
    this.statsSoon();
  };

  private readonly onUpdate = (message: StoredMessage, previous: ReadonlySet<string>): void => {
    if (this.hub.size === 0) return;
    const read = message.flags.has(SEEN);
    if (read !== previous.has(SEEN)) {
      this.hub.broadcast(frame('update', { ID: message.id, Read: read }));
      this.statsSoon();
    }
    if (!sameTags(previous, message.flags)) this.hub.broadcast(frame('update', { ID: message.id, Tags: tagsOf(message) }));
  };

  private readonly onDelete = (messages: StoredMessage[]): void => {
    if (this.hub.size === 0) return;
    this.statsSoon();
    if (messages.length > PRUNE_ABOVE) return this.hub.broadcast(frame('prune', null));
    for (const message of messages) this.hub.broadcast(frame('delete', { ID: message.id }));
  };

  private readonly onClear = (): void => {
    if (this.hub.size === 0) return;
    this.statsSoon();
    this.hub.broadcast(frame('truncate', null));
  };

  constructor(
    private readonly store: Store,
    private readonly facts: MailpitFacts,
    private readonly version: string,
    logger: FastifyBaseLogger,
  ) {
    this.hub = new SocketHub('Mailpit events', logger);
    store.events.on('new', this.onNew).on('update', this.onUpdate).on('delete', this.onDelete).on('clear', this.onClear);
  }

  /** Mailpit tells every client the counts after anyone connects. */
  add(socket: WebSocket): void {
    this.hub.add(socket);
    this.statsSoon();
  }

  close(): void {
    this.store.events.off('new', this.onNew).off('update', this.onUpdate).off('delete', this.onDelete).off('clear', this.onClear);
    if (this.statsTimer !== null) clearTimeout(this.statsTimer);
    this.statsTimer = null;
    this.hub.close();
  }

  /** Changes while a stats frame is pending are in it: the counts are read when it is sent. */
  private statsSoon(): void {
    this.statsTimer ??= setTimeout(() => {
      this.statsTimer = null;
      if (this.hub.size === 0) return;
      this.hub.broadcast(frame('stats', { Total: this.store.size, Unread: this.store.unread, Version: this.version }));
    }, STATS_DELAY_MS).unref();
  }
}

export interface EventRoutesDeps {
  context: MailpitContext;
  version: string;
}

export const eventRoutes: FastifyPluginAsync<EventRoutesDeps> = async (app, { context, version }) => {
  const events = new MailpitEvents(context.store, context.facts, version, app.log);
  app.addHook('preClose', async () => events.close());
  app.route({
    method: 'GET',
    url: '/api/events',
    schema: {
      tags: ['mailpit'],
      summary: 'Live events over a WebSocket (Mailpit)',
      description:
        'Text frames `{"Type": ..., "Data": ...}`: `new` (a message summary), `update` (`{ID, Read}` or `{ID, Tags}`), `delete` (`{ID}`), `prune`, `truncate` and `stats` (`{Total, Unread, Version}`). ' +
        'A request that is not a WebSocket handshake gets 400 `Bad Request`.',
    },
    handler: (_request, reply) => notWebSocket(reply),
    wsHandler: (socket) => events.add(socket),
  });
};
