import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../../store/store.js';
import type { ListenerStatus } from '../../routes/system.js';
import { sendJson, sendText } from './replies.js';
import type { RuntimeStats } from './runtime-stats.js';
import { relayServer, type RelaySettings } from '../../../relay/relay.js';

export interface SystemRoutesDeps {
  store: Store;
  version: string;
  listeners: () => ListenerStatus[];
  stats: RuntimeStats;
  relay: RelaySettings | null;
}

export const systemRoutes: FastifyPluginAsync<SystemRoutesDeps> = async (app, { store, version, listeners, stats, relay }) => {
  // Kubernetes probes, open without credentials as in Mailpit (see Access).
  app.get('/livez', { schema: { tags: ['mailpit'], summary: 'Liveness probe: 200, empty (Mailpit)' } }, async (_request, reply) => reply.code(200).send());

  // Mailpit serves its own OpenAPI document here; Mailroom's describes these routes too, under the mailpit tag.
  app.get('/api/v1/swagger.json', { schema: { tags: ['mailpit'], summary: "302 to Mailroom's OpenAPI document, which lists Mailpit's routes under the mailpit tag" } }, async (_request, reply) =>
    reply.redirect('/api/openapi.json', 302),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['mailpit'], summary: 'Readiness probe: 200 once every listener accepts connections, else 503 (Mailpit)' } },
    async (_request, reply) => {
      if (listeners().every((l) => l.listening)) return reply.code(200).send();
      reply.header('x-content-type-options', 'nosniff');
      return sendText(reply, 503, 'Service Unavailable\n', 'text/plain; charset=utf-8');
    },
  );

  app.get(
    '/api/v1/info',
    {
      schema: {
        tags: ['mailpit'],
        summary: "Mailroom's version, message counts and runtime stats, in Mailpit's shape",
        description: 'Version is Mailroom\'s; LatestVersion is "disabled" (no release check); Database is empty and DatabaseSize the bytes the store holds; SMTPRejected and SMTPIgnored are 0.',
      },
    },
    async (_request, reply) =>
      sendJson(reply, {
        Version: version,
        LatestVersion: 'disabled',
        Database: '',
        DatabaseSize: store.bytes,
        Messages: store.size,
        Unread: store.unread,
        Tags: Object.fromEntries(store.tags().map(({ name, count }) => [name, count])),
        RuntimeStats: {
          Uptime: Math.floor((Date.now() - stats.startedAt) / 1000),
          Memory: process.memoryUsage().rss,
          MessagesDeleted: stats.deleted,
          SMTPAccepted: stats.accepted,
          SMTPAcceptedSize: stats.acceptedBytes,
          SMTPRejected: 0,
          SMTPIgnored: 0,
        },
      }),
  );

  app.get('/api/v1/webui', { schema: { tags: ['mailpit'], summary: "Web UI settings, in Mailpit's shape: the relay (--smtp-relay), no SpamAssassin; chaos always enabled" } }, async (_request, reply) =>
    sendJson(reply, {
      Label: '',
      // Mailroom has no recipient allow or block lists and no From override.
      MessageRelay: {
        Enabled: relay !== null,
        SMTPServer: relay === null ? '' : relayServer(relay),
        ReturnPath: relay?.returnPath ?? '',
        AllowedRecipients: '',
        BlockedRecipients: '',
        OverrideFrom: '',
        PreserveMessageIDs: relay?.preserveMessageIds ?? false,
        RecipientAllowlist: '',
      },
      SpamAssassin: false,
      ChaosEnabled: true,
      DuplicatesIgnored: false,
      HideDeleteAllButton: false,
    }),
  );
};
