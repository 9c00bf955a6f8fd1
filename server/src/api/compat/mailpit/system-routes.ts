import type { FastifyPluginAsync } from 'fastify';
import type { MessageStore } from '../../../store/message-store.js';
import type { ListenerStatus } from '../../routes/system.js';
import { sendError, sendJson, sendText } from './replies.js';
import type { RuntimeStats } from './runtime-stats.js';

export interface SystemRoutesDeps {
  store: MessageStore;
  version: string;
  listeners: () => ListenerStatus[];
  stats: RuntimeStats;
}

const CHAOS_OFF = 'Chaos is not enabled';

export const systemRoutes: FastifyPluginAsync<SystemRoutesDeps> = async (app, { store, version, listeners, stats }) => {
  // Kubernetes probes, open without credentials as in Mailpit (see Access).
  app.get('/livez', { schema: { tags: ['mailpit'], summary: 'Liveness probe: 200, empty (Mailpit)' } }, async (_request, reply) => reply.code(200).send());

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
        Tags: {},
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

  app.get('/api/v1/webui', { schema: { tags: ['mailpit'], summary: "Web UI settings, in Mailpit's shape: no relay, no SpamAssassin, no chaos" } }, async (_request, reply) =>
    sendJson(reply, {
      Label: '',
      MessageRelay: {
        Enabled: false,
        SMTPServer: '',
        ReturnPath: '',
        AllowedRecipients: '',
        BlockedRecipients: '',
        OverrideFrom: '',
        PreserveMessageIDs: false,
        RecipientAllowlist: '',
      },
      SpamAssassin: false,
      ChaosEnabled: false,
      DuplicatesIgnored: false,
      HideDeleteAllButton: false,
    }),
  );

  for (const method of ['GET', 'PUT'] as const) {
    app.route({
      method,
      url: '/api/v1/chaos',
      schema: { tags: ['mailpit'], summary: `${method === 'GET' ? 'Read' : 'Set'} chaos triggers (Mailpit); chaos is not enabled in Mailroom: 400` },
      handler: async (_request, reply) => sendError(reply, CHAOS_OFF),
    });
  }
};
