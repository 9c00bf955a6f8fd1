import type { FastifyPluginAsync } from 'fastify';
import type { Compat } from '../../../config.js';
import type { Store } from '../../../store/store.js';
import type { RelaySettings } from '../../../relay/relay.js';
import { SmtpRuleSet } from '../../../smtp/reject-rules.js';
import type { ListenerStatus } from '../../routes/system.js';
import { chaosRoutes } from './chaos.js';
import { MailpitContext } from './context.js';
import { eventRoutes } from './events.js';
import { MailpitFacts } from './facts.js';
import { listRoutes } from './list-routes.js';
import { messageRoutes } from './message-routes.js';
import { sendError } from './replies.js';
import { acceptAnyBody } from './request-body.js';
import { RuntimeStats } from './runtime-stats.js';
import { releaseRoute } from './release.js';
import { mailpitSendRoute } from './send.js';
import { SearchError } from './search.js';
import { systemRoutes } from './system-routes.js';
import { tagRoutes } from './tags.js';
import { viewRoutes } from './view-routes.js';

export interface MailpitDeps {
  store: Store;
  /** Largest message POST /api/v1/send may store. */
  maxMessageSize: number;
  version: string;
  listeners: () => ListenerStatus[];
  /** With 'mailhog', GET and DELETE /api/v1/messages are MailHog's. */
  compat: Compat;
  /** The SMTP sink's rules, which the chaos triggers join; without, a set of their own that no sink reads. */
  rules?: SmtpRuleSet;
  /** Where POST /api/v1/message/{id}/release sends; without one it fails as Mailpit's does unconfigured. */
  relay?: RelaySettings | null;
}

/** Memory for what is derived per message (addresses as Mailpit stores them, counts): about 1 KiB each. */
const FACTS_BYTES = 32 * 1024 * 1024;
/** Memory for the cleaned search texts free words are found in: room for 10,000 messages of 4 KB, the default store. */
const SEARCH_TEXT_BYTES = 64 * 1024 * 1024;

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
 *   GET /livez  /readyz  /api/v1/info  /api/v1/webui                (system-routes.ts)
 *   GET|PUT /api/v1/chaos              chaos triggers, as SMTP rules (chaos.ts)
 *   POST /api/v1/send                                              (send.ts)
 *   POST /api/v1/message/{id}/release  through --smtp-relay        (release.ts)
 *   GET /api/events                    WebSocket of live events    (events.ts)
 *   GET|PUT /api/v1/tags   PUT|DELETE /api/v1/tags/{tag}           (tags.ts)
 *
 * Not yet: tags, SpamAssassin.
 */
export const mailpitRoutes: FastifyPluginAsync<MailpitDeps> = async (app, deps) => {
  const { store } = deps;
  const facts = new MailpitFacts(store, { factsBytes: FACTS_BYTES, textBytes: SEARCH_TEXT_BYTES });
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
  await app.register(systemRoutes, { store, version: deps.version, listeners: deps.listeners, stats, relay: deps.relay ?? null });
  await app.register(mailpitSendRoute, { store, maxMessageSize: deps.maxMessageSize });
  await app.register(releaseRoute, { store, relay: deps.relay ?? null });
  await app.register(chaosRoutes, { rules: deps.rules ?? new SmtpRuleSet() });
  await app.register(eventRoutes, { context, version: deps.version });
  await app.register(tagRoutes, { store });
};
