import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Store } from '../../store/store.js';
import { ErrorBody } from '../schemas.js';

/** A protocol listener as the API reports it. */
export interface ListenerStatus {
  name: string;
  port: number | null;
  listening: boolean;
}

export interface SystemRoutesDeps {
  store: Store;
  version: string;
  listeners: () => ListenerStatus[];
}

const PortMap = Type.Record(Type.String(), Type.Integer(), { description: 'Bound port of every enabled listener' });

export const systemRoutes: FastifyPluginAsync<SystemRoutesDeps> = async (fastify, { store, version, listeners }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/info',
    {
      schema: {
        summary: 'Version, ports, store use and process memory',
        tags: ['system'],
        response: {
          200: Type.Object({
            version: Type.String(),
            ports: PortMap,
            messages: Type.Integer(),
            unread: Type.Integer(),
            storeBytes: Type.Integer(),
            limits: Type.Object({ maxMessages: Type.Integer(), maxStoreBytes: Type.Integer() }),
            dataDir: Type.Union([Type.Object({ path: Type.String(), bytes: Type.Integer({ description: 'Messages and Mailroom\'s own files' }) }), Type.Null()], {
              description: 'Where messages are kept on disk (--data-dir); null when they live in memory only',
            }),
            memory: Type.Object({
              rss: Type.Integer(),
              heapUsed: Type.Integer(),
              external: Type.Integer(),
              arrayBuffers: Type.Integer(),
            }),
          }),
        },
      },
    },
    async () => {
      const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
      const ports: Record<string, number> = {};
      for (const listener of listeners()) if (listener.port !== null) ports[listener.name] = listener.port;
      return {
        version,
        ports,
        messages: store.size,
        unread: store.unread,
        storeBytes: store.bytes,
        limits: { maxMessages: store.limits.maxMessages, maxStoreBytes: store.limits.maxBytes },
        dataDir: store.persistence && { path: store.persistence.dir, bytes: store.persistence.bytes() },
        memory: { rss, heapUsed, external, arrayBuffers },
      };
    },
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'Ready when every enabled listener accepts connections',
        tags: ['system'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: ErrorBody },
      },
    },
    async (_request, reply) => {
      const down = listeners().filter((l) => !l.listening);
      if (down.length === 0) return { status: 'ok' as const };
      return reply
        .status(503)
        .send({ error: 'unavailable', message: `Not listening yet: ${down.map((l) => l.name).join(', ')}` });
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger());
};
