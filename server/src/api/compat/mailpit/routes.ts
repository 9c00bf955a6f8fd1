import type { FastifyPluginAsync } from 'fastify';
import type { Compat } from '../../../config.js';
import type { MessageStore } from '../../../store/message-store.js';
import type { ListenerStatus } from '../../routes/system.js';
import { MailpitContext } from './context.js';
import { MailpitFacts } from './facts.js';
import { listRoutes } from './list-routes.js';
import { messageRoutes } from './message-routes.js';
import { sendError } from './replies.js';
import { acceptAnyBody } from './request-body.js';
import { RuntimeStats } from './runtime-stats.js';
import { mailpitSendRoute } from './send.js';
import { SearchError } from './search.js';
import { systemRoutes } from './system-routes.js';
import { viewRoutes } from './view-routes.js';

export interface MailpitDeps {
  store: MessageStore;
  /** Largest message POST /api/v1/send may store. */
  maxMessageSize: number;
  version: string;
  listeners: () => ListenerStatus[];
  /** With 'mailhog', GET and DELETE /api/v1/messages are MailHog's. */
  compat: Compat;
}

/** Memory for what is derived per message (addresses as Mailpit stores them, counts): about 1 KiB each. */
const FACTS_BYTES = 32 * 1024 * 1024;
/** Characters of search text kept for free words, as Mailroom's own search keeps. */
const SEARCH_TEXT_CHARS = 32 * 1024 * 1024;

/**
 * Mailpit's HTTP API v1 (v1.30.5), its /view pages and probes, at the paths Mailpit serves them,
 * answering as Mailpit does, so that Mailpit's clients and test helpers work against Mailroom.
 * The route table, as in Mailpit's server.go:
 *
 *   GET|PUT|DELETE /api/v1/messages    list · mark read · delete   (list-routes.ts)
 *   GET|DELETE     /api/v1/search      search · delete matches
 *   GET /api/v1/message/{id}           detail, marks read          (message-routes.ts)
 *       …/headers  …/raw  …/part/{partID}  …/part/{partID}/thumb  …/html-check  …/link-check
 *   GET /view/{id}.html  /view/{id}.txt  /view/latest  //view/…    (view-routes.ts)
 *   GET /livez  /readyz  /api/v1/info  /api/v1/webui  GET|PUT /api/v1/chaos   (system-routes.ts)
 *   POST /api/v1/send                                              (send.ts)
 *
 * Not yet: release, tags, chaos triggers, the events websocket, SpamAssassin.
 */
export const mailpitRoutes: FastifyPluginAsync<MailpitDeps> = async (app, deps) => {
  const { store } = deps;
  const facts = new MailpitFacts(store, { factsBytes: FACTS_BYTES, textChars: SEARCH_TEXT_CHARS });
  const stats = new RuntimeStats(store);
  app.addHook('onClose', async () => {
    facts.close();
    stats.close();
  });
  acceptAnyBody(app);
  // Mailpit's errors are bare text; anything else is Mailroom's own error handling's.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof SearchError) return sendError(reply, error.message);
    throw error;
  });
  const context = new MailpitContext(store, facts);
  await app.register(listRoutes, { context, ownsMessages: deps.compat !== 'mailhog' });
  await app.register(messageRoutes, { context });
  await app.register(viewRoutes, { context });
  await app.register(systemRoutes, { store, version: deps.version, listeners: deps.listeners, stats });
  await app.register(mailpitSendRoute, { store, maxMessageSize: deps.maxMessageSize });
};
