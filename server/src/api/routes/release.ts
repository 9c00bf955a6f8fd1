import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addressparser from 'nodemailer/lib/addressparser';
import { Type } from 'typebox';
import { relayMessage, relayServer, type RelaySettings } from '../../relay/relay.js';
import { DeliveryError, type DeliveryStage } from '../../relay/smtp-client.js';
import type { Store } from '../../store/store.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { ErrorBody, IdParams } from '../schemas.js';

export interface ReleaseRoutesDeps {
  store: Store;
  relay: RelaySettings | null;
}

/** RFC 5321 §4.5.3.1.8: every server takes at least 100 recipients. */
const MAX_RECIPIENTS = 100;

const ReleaseBody = Type.Object(
  { to: Type.Array(Type.String({ maxLength: 998, description: 'an address, or "Name <address>"' }), { minItems: 1, maxItems: MAX_RECIPIENTS }) },
  { additionalProperties: false },
);

const Released = Type.Object({
  accepted: Type.Array(Type.String(), { description: 'Recipients the relay took' }),
  rejected: Type.Array(Type.Object({ address: Type.String(), reply: Type.String() }), { description: 'Recipients it refused, with its reply; the others still got the message' }),
  reply: Type.String({ description: "The relay's reply to the message" }),
});

const WHAT_FAILED: Record<DeliveryStage, string> = {
  connect: 'cannot connect',
  hello: 'refused EHLO',
  tls: 'TLS failed',
  auth: 'refused the login',
  mail: 'refused the sender',
  rcpt: 'refused every recipient',
  data: 'refused the message',
  message: 'refused the message',
};

/** Mailroom's own release: the same relay and the same rewriting as Mailpit's, from the SMTP envelope's sender. */
export const releaseRoutes: FastifyPluginAsync<ReleaseRoutesDeps> = async (fastify, { store, relay }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/messages/:id/release',
    {
      schema: {
        summary: 'Send a message on to real recipients through the SMTP relay (--smtp-relay)',
        description:
          'The message goes out from its envelope sender (or --smtp-relay-return-path) to `to` alone, without its Bcc fields, dated now, with a new Message-ID ' +
          '(unless --smtp-relay-preserve-message-ids). 501 without a relay; 502 when the relay fails or refuses every recipient.',
        tags: ['messages'],
        params: IdParams,
        body: ReleaseBody,
        response: { 200: Released, 400: ErrorBody, 404: ErrorBody, 501: ErrorBody, 502: ErrorBody },
      },
    },
    async (request) => {
      const message = store.get(request.params.id);
      if (!message) throw notFound(`No message with id ${request.params.id}`);
      const to = request.body.to.map((text, i) => {
        const [first, ...rest] = addressparser(text, { flatten: true });
        if (!first?.address?.includes('@') || rest.length > 0) throw badRequest(`to/${i}: expected one address, got ${JSON.stringify(text)}`);
        return first.address;
      });
      if (relay === null) throw new HttpError(501, 'relay_not_configured', 'No SMTP relay configured: start Mailroom with --smtp-relay HOST:PORT');
      try {
        const delivery = await relayMessage(relay, message.envelope.mailFrom, to, message.raw);
        return { accepted: delivery.accepted, rejected: delivery.rejected.map((r) => ({ address: r.recipient, reply: r.reply })), reply: delivery.reply };
      } catch (error) {
        if (!(error instanceof DeliveryError)) throw error;
        request.log.warn({ err: error, id: message.id, relay: relayServer(relay) }, 'release failed');
        throw new HttpError(502, 'relay_failed', `SMTP relay ${relayServer(relay)} ${WHAT_FAILED[error.stage]}: ${error.reply ?? error.message}`);
      }
    },
  );
};
