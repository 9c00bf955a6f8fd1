import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { LoginThrottle } from '../guard/login-throttle.js';
import { packageRoot } from '../paths.js';
import { BodyTexts } from '../search/body-texts.js';
import { MailboxIndex } from '../store/mailbox-index.js';
import type { Store } from '../store/store.js';
import type { Compat } from '../config.js';
import type { SmtpRuleSet } from '../smtp/reject-rules.js';
import type { RelaySettings } from '../relay/relay.js';
import { Access, BASIC_CHALLENGE } from './access.js';
import { HttpError, installErrorHandlers } from './errors.js';
import { answerClientError } from './raw-errors.js';
import { MessageViews } from './message-view.js';
import { mailboxRoutes } from './routes/mailboxes.js';
import { mailpitRoutes } from './compat/mailpit/routes.js';
import { composeRoutes } from './routes/compose.js';
import { messageRoutes } from './routes/messages.js';
import { partRoutes } from './routes/parts.js';
import { releaseRoutes } from './routes/release.js';
import { smtpRuleRoutes } from './routes/smtp-rules.js';
import { tagRoutes } from './routes/tags.js';
import { extractRoutes } from './routes/extract.js';
import { exportRoutes } from './routes/export.js';
import { systemRoutes, type ListenerStatus } from './routes/system.js';
import { APP_CSP, SECURITY_HEADERS, withFrameAncestors } from './security-headers.js';
import { Waiters } from './waiters.js';
import { registerWebSockets } from './websockets.js';
import { mailhogRoutes } from './compat/mailhog/routes.js';

/**
 * Characters of lower-cased body text kept for free-word search: the default store of 10,000
 * messages holds about 40M of them in typical mail, and a cache smaller than what one search
 * reads is emptied by every search, so each would decode every body again.
 */
const SEARCH_TEXT_CHARS = 64 * 1024 * 1024;

export interface AppDeps {
  store: Store;
  logger: FastifyBaseLogger;
  version: string;
  listeners: () => ListenerStatus[];
  smtpRules: SmtpRuleSet;
  /**
   * Origins whose pages may call the API, or ['*']. Off by default: captured
   * mail holds reset links and codes, which any site open in the same browser
   * could otherwise read from a local Mailroom.
   */
  corsOrigins?: readonly string[];
  /** Who may call at all: hosts, origins, credentials. By default loopback names and IP addresses, Mailroom's own origin and the CORS origins, no credentials. */
  access?: Access;
  /** Memory budget for parsed message views. */
  viewCacheBytes?: number;
  /** Characters of decoded body text kept for search. */
  searchTextChars?: number;
  /** The built web app; web/dist of the package unless given. */
  webRoot?: string;
  /** Largest message the API may store (POST /api/messages); 25 MiB unless given, as over SMTP. */
  maxMessageSize?: number;
  /** Whose shape GET and DELETE /api/v1/messages take, the one route Mailpit and MailHog both have; Mailpit's unless given. */
  compat?: Compat;
  /** Where released messages go; releases fail without one. */
  relay?: RelaySettings | null;
}

/** The HTTP app, ready for `inject` or `listen`; it never listens by itself. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // One line per request would drown the log of a web app that polls.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
    clientErrorHandler: answerClientError,
    // A request must arrive whole this soon (a body announced and never sent would hold its connection for ever).
    requestTimeout: 30_000,
    // HTTP/1.1 without Host is refused below with the API's JSON, not Node's empty 400.
    http: { requireHostHeader: false },
  });
  installErrorHandlers(app);
  const origins = deps.corsOrigins ?? [];
  const access =
    deps.access ?? new Access({ listen: '127.0.0.1', allowedHosts: [], corsOrigins: origins, users: null, token: null, throttle: new LoginThrottle() });
  // Before any route, so that every route's handshakes go through it and the hooks below; its own hook, which
  // only marks a handshake as one (so that its socket is closed after any answer, a refusal included), runs first.
  await registerWebSockets(app);
  // First of all hooks, so that no route, CORS preflight or static file answers a request refused here.
  app.addHook('onRequest', async (request, reply) => {
    reply.headers({ ...SECURITY_HEADERS, 'content-security-policy': APP_CSP });
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return reply.code(400).send({ error: 'bad_request', message: 'HTTP/1.1 requests need a Host header' });
    }
    const denial = await access.check({ headers: request.headers, path: request.url.split('?')[0]!, remoteAddress: request.ip });
    if (denial === null) return;
    if (denial.status === 401) reply.header('www-authenticate', BASIC_CHALLENGE);
    return reply.code(denial.status).send({ error: denial.error, message: denial.message });
  });
  // Ajv's type coercion turns `Infinity` and `1e309` into numbers that pass its range checks.
  app.addHook('preHandler', async (request) => {
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new HttpError(400, 'bad_request', `querystring/${name} must be a finite number`);
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    const policy = reply.getHeader('content-security-policy');
    if (typeof policy === 'string') reply.header('content-security-policy', withFrameAncestors(policy));
    return payload;
  });
  if (origins.length > 0) await app.register(fastifyCors, { origin: origins.includes('*') ? '*' : [...origins], methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'] });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mailroom API',
        version: deps.version,
        description:
          'Captured mail over HTTP. Live events (socket.io, path /socket.io): message:new, message:update, message:delete, messages:clear. ' +
          'Requests from other origins are refused (403) unless allowed by --api-cors, and unknown Host names unless allowed by --allowed-hosts. ' +
          'With --ui-auth or --api-token every route but /api/health needs credentials (401 otherwise).',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'A --ui-auth login; or any user name with the --api-token as password' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The --api-token' },
        },
      },
      // Either scheme, or none when Mailroom was started without credentials.
      security: [{ basic: [] }, { bearer: [] }, {}],
      tags: [
        { name: 'messages', description: 'Captured messages' },
        { name: 'tags', description: 'Tags across messages; IMAP shows them as keywords' },
        { name: 'parts', description: 'The MIME parts of a message, numbered as IMAP sections' },
        { name: 'system', description: 'Server state' },
        { name: 'smtp', description: 'SMTP reject and delay rules' },
        { name: 'mailpit', description: "Mailpit's API v1, answered as Mailpit answers it, for its clients and test helpers" },
        { name: 'mailhog', description: "MailHog's API v1 and v2, answered as MailHog answers it, for its clients and test helpers" },
      ],
    },
  });

  const maxMessageSize = deps.maxMessageSize ?? 25 * 1024 * 1024;
  const views = new MessageViews(deps.store, deps.viewCacheBytes ?? 64 * 1024 * 1024);
  const waiters = new Waiters(deps.store);
  const texts = new BodyTexts(deps.store, deps.searchTextChars ?? SEARCH_TEXT_CHARS);
  const mailboxes = new MailboxIndex(deps.store);
  // preClose runs before connections are cut, so long polls get an answer rather than a reset.
  app.addHook('preClose', async () => {
    waiters.close();
  });
  app.addHook('onClose', async () => {
    texts.close();
    views.close();
    mailboxes.close();
  });

  await app.register(
    async (api) => {
      await api.register(messageRoutes, { store: deps.store, texts, views, waiters });
      await api.register(composeRoutes, { store: deps.store, maxMessageSize });
      await api.register(partRoutes, { store: deps.store });
      await api.register(releaseRoutes, { store: deps.store, relay: deps.relay ?? null });
      await api.register(extractRoutes, { store: deps.store });
      await api.register(exportRoutes, { store: deps.store, texts });
      await api.register(mailboxRoutes, { mailboxes });
      await api.register(tagRoutes, { store: deps.store });
      await api.register(systemRoutes, { store: deps.store, version: deps.version, listeners: deps.listeners });
      await api.register(smtpRuleRoutes, { rules: deps.smtpRules });
    },
    { prefix: '/api' },
  );
  const compat = deps.compat ?? 'mailpit';
  await app.register(mailhogRoutes, { store: deps.store, compat, rules: deps.smtpRules });
  await app.register(mailpitRoutes, { store: deps.store, maxMessageSize, version: deps.version, listeners: deps.listeners, compat, rules: deps.smtpRules, relay: deps.relay ?? null });

  // Files are looked up at request time, not listed at start, so a rebuild of the app (npm test, or
  // a developer's vite build) under a running Mailroom is served at once instead of answering 404.
  await app.register(fastifyStatic, { root: deps.webRoot ?? join(packageRoot, 'web', 'dist'), wildcard: true });
  return app;
}
