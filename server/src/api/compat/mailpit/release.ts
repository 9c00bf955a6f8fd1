import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { relayMessage, relayServer, type RelaySettings } from '../../../relay/relay.js';
import { DeliveryError } from '../../../relay/smtp-client.js';
import type { Store } from '../../../store/store.js';
import { decodeGoStruct } from './go-decode.js';
import { byteString, bytesOf } from '../go-values.js';
import { headerGet, parseAddress, parseAddressList, readHeader } from './go-mail.js';
import { sendNotFound, sendOk } from './replies.js';
import { BODY_TOO_LARGE, bodyOf } from './request-body.js';

export interface ReleaseRouteDeps {
  store: Store;
  relay: RelaySettings | null;
}

const IdParams = Type.Object({ id: Type.String({ description: 'A message id; `latest` is not taken here, as in Mailpit' }) });

/**
 * Unconfigured, Mailpit dials host "" port 0 and answers with the refused connection (Linux's
 * wording). Clients may match it, so Mailroom answers the same and says why in its log.
 */
const NO_RELAY = 'SMTP error: error connecting to :0: dial tcp :0: connect: connection refused';

/** httpError, with the bytes Go would write (the text is a byte string). */
const fail = (reply: FastifyReply, text: string): FastifyReply => reply.code(400).type('text/plain').send(bytesOf(text));

/** Go's text for an OS error that ended a dial. */
const SYSTEM_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  ECONNRESET: 'connect: connection reset by peer',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
};

/** OpenSSL's words (as Node reports them) for a certificate no trusted authority signed. */
const UNKNOWN_AUTHORITY = ['self-signed certificate', 'self signed certificate in certificate chain', 'unable to verify the first certificate', 'unable to get local issuer certificate'];

/**
 * A refused certificate as Go's crypto/tls words it, where Node's text says the same; any other
 * TLS failure in Node's words, without the hint Node 24 appends after a semicolon.
 */
function tlsFailureText(message: string): string {
  const reason = message.split(';')[0]!;
  return UNKNOWN_AUTHORITY.includes(reason) ? 'tls: failed to verify certificate: x509: certificate signed by unknown authority' : reason;
}

/** A failed relay in the words of Mailpit's smtpd.Relay (Go's net/smtp), after its `SMTP error: `. */
function relayErrorText(error: DeliveryError, relay: RelaySettings): string {
  const address = relayServer(relay);
  const reply = error.reply ?? error.message;
  const implicitTls = relay.security === 'tls' || (relay.security === 'auto' && relay.port === 465);
  switch (error.stage) {
    case 'connect': {
      const known = error.systemCode === null ? undefined : SYSTEM_ERRORS[error.systemCode];
      const reason = known === undefined ? error.message : `dial tcp ${address}: ${known}`;
      return implicitTls ? `TLS dial error: ${reason}` : `error connecting to ${address}: ${reason}`;
    }
    case 'hello':
      return `error saying HELO/EHLO to ${address}: ${reply}`;
    case 'tls':
      return implicitTls ? `TLS dial error: ${tlsFailureText(error.message)}` : `error creating StartTLS config: ${error.reply ?? tlsFailureText(error.message)}`;
    case 'auth':
      return `error response to AUTH command: ${reply}`;
    case 'mail':
      return `error sending MAIL command: ${reply}`;
    case 'rcpt':
      return `error response to RCPT command for ${error.recipient ?? ''}: ${reply}`;
    case 'data':
      return `error response to DATA command: ${reply}`;
    case 'message':
      return error.reply === null ? `error sending message: ${error.message}` : `error closing connection: ${error.reply}`;
  }
}

/**
 * Mailpit's release (server/apiv1/release.go): the checks in its order, each with its answer
 * (404 for an unknown id, `latest` included; 400 with Go's text for the rest), then the relay.
 * The message goes out as Mailpit sends it (see relayMessage), from the first address of its
 * Sender field when that parses, else of its From field, unless --smtp-relay-return-path says
 * otherwise. Recipients are given to the relay as their bare addresses, where Mailpit passes
 * `Name <a@b>` on as it came, which relays refuse.
 */
export const releaseRoute: FastifyPluginAsync<ReleaseRouteDeps> = async (app, { store, relay }) => {
  app.post(
    '/api/v1/message/:id/release',
    {
      schema: {
        tags: ['mailpit'],
        summary: 'Relay a message through --smtp-relay (Mailpit)',
        description:
          'Body `{"To": ["address", ...]}`. `ok` once the relay took the message; 400 with Mailpit\'s text otherwise (`Invalid email address: x`, `No valid addresses found`, ' +
          '`Failed: unable to parse From header: ...`, `SMTP error: ...`); 404 for an unknown id. Bcc fields are removed, Date set to now, Message-ID replaced.',
        params: IdParams,
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const message = store.get(id);
      if (message === undefined) return sendNotFound(reply);
      const body = bodyOf(request.body);
      if (body.tooLarge) return fail(reply, BODY_TOO_LARGE);
      const decoded = decodeGoStruct(body.bytes, [{ name: 'To', kind: '[]string' }], 'struct { To []string }');
      if (!decoded.ok) return fail(reply, byteString(decoded.error));
      const given = (decoded.fields.To as string[] | undefined) ?? [];
      const recipients: string[] = [];
      for (const to of given) {
        const address = parseAddress(byteString(to));
        if (!address.ok) return fail(reply, byteString(`Invalid email address: ${to}`));
        recipients.push(bytesOf(address.value).toString('utf8'));
      }
      if (recipients.length === 0) return fail(reply, 'No valid addresses found');
      const header = readHeader(message.raw);
      if (!header.ok) return fail(reply, header.error);
      const fromField = headerGet(header.value, 'From');
      const from = fromField === '' ? { ok: false as const, error: 'mail: header not in message' } : parseAddressList(fromField);
      if (!from.ok) return fail(reply, `Failed: unable to parse From header: ${from.error}`);
      if (from.value.length === 0) return fail(reply, 'No From header found');
      // An empty Sender group makes Mailpit index past its end and drop the connection; the From address stands then.
      const senderField = headerGet(header.value, 'Sender');
      const sender = senderField === '' ? null : parseAddressList(senderField);
      const envelopeFrom = sender?.ok && sender.value.length > 0 ? sender.value[0]! : from.value[0]!;
      if (relay === null) {
        request.log.warn('Mailpit release refused: no relay configured; start Mailroom with --smtp-relay HOST:PORT');
        return fail(reply, NO_RELAY);
      }
      try {
        await relayMessage(relay, bytesOf(envelopeFrom).toString('utf8'), recipients, message.raw);
      } catch (error) {
        if (!(error instanceof DeliveryError)) throw error;
        request.log.warn({ err: error, id, relay: relayServer(relay) }, 'Mailpit release failed');
        return fail(reply, byteString(`SMTP error: ${relayErrorText(error, relay)}`));
      }
      return sendOk(reply);
    },
  );
};
