import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Store } from '../../../store/store.js';
import { ComposeError, composedBodyLimit, composeMessage, forbiddenHeader, MessageTooLarge, storeComposed, type ComposedAddress, type ComposedAttachment } from '../../compose.js';
import { goJson } from '../go-json.js';
import { acceptAnyBody, BODY_TOO_LARGE, bodyOf } from './request-body.js';
import { sendJson } from './replies.js';

export interface MailpitSendDeps {
  store: Store;
  maxMessageSize: number;
}

/** A JSON object's own keys, lower-cased: Go's decoder matches field names case-insensitively, so clients send any case. */
function fields(value: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) map.set(key.toLowerCase(), item);
  }
  return map;
}

class SendError extends Error {}

const text = (value: unknown, name: string): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new SendError(`json: cannot unmarshal ${typeof value} into Go struct field .${name} of type string`);
  return value;
};

const list = (value: unknown, name: string): unknown[] => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SendError(`json: cannot unmarshal ${typeof value} into Go struct field .${name} of type []`);
  return value;
};

/** An address as Go's net/mail would take it, or the error Mailpit gives for the field. */
function address(email: string, name: string, field: string): ComposedAddress {
  if (!/^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+$/.test(email)) throw new SendError(`invalid ${field} address: ${email}`);
  return name === '' ? { address: email } : { name, address: email };
}

function person(value: unknown, field: string): ComposedAddress {
  const f = fields(value);
  return address(text(f.get('email'), `${field}.Email`), text(f.get('name'), `${field}.Name`), field);
}

function attachment(value: unknown): ComposedAttachment {
  const f = fields(value);
  const filename = text(f.get('filename'), 'Attachments.Filename');
  // Mailpit takes a data URI's payload too.
  const content = text(f.get('content'), 'Attachments.Content').replace(/^data:[^,]{0,255};base64,/, '');
  const bad = /[^A-Za-z0-9+/=]/.exec(content);
  if (bad !== null || content.length % 4 !== 0) {
    throw new SendError(`error decoding base64 attachment "${filename}": illegal base64 data at input byte ${bad?.index ?? content.length}`);
  }
  const contentType = text(f.get('contenttype'), 'Attachments.ContentType');
  const contentId = text(f.get('contentid'), 'Attachments.ContentID');
  return {
    filename,
    content: Buffer.from(content, 'base64'),
    ...(contentType === '' ? {} : { contentType }),
    ...(contentId === '' ? {} : { contentId }),
  };
}

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  // A Buffer, because Fastify adds a charset to the Content-Type of a string, which Mailpit does not send.
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(goJson({ Error: message }, { newline: true })));
}

/**
 * Mailpit's POST /api/v1/send: its JSON in, `{"ID"}` out, errors as `{"Error"}` with Mailpit's
 * wording. The message is built and stored as Mailroom's own POST /api/messages does.
 */
export const mailpitSendRoute: FastifyPluginAsync<MailpitSendDeps> = async (app, { store, maxMessageSize }) => {
  // Mailpit's cap on this route is its message size limit rather than the 5 MB of the others.
  acceptAnyBody(app, composedBodyLimit(maxMessageSize));

  app.post('/api/v1/send', { schema: { summary: 'Store a message built from Mailpit send JSON', tags: ['mailpit'] } }, async (request, reply) => {
    const body = bodyOf(request.body);
    if (body.tooLarge) return fail(reply, 413, BODY_TOO_LARGE);
    let json: unknown;
    try {
      json = JSON.parse(body.bytes.toString('utf8'));
    } catch (error) {
      return fail(reply, 400, body.bytes.length === 0 ? 'EOF' : (error as Error).message);
    }
    let composed;
    try {
      const f = fields(json);
      const tags = list(f.get('tags'), 'Tags').map((t) => text(t, 'Tags'));
      const given = f.get('headers');
      const customHeaders: Record<string, string> = {};
      if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
        for (const [name, value] of Object.entries(given)) customHeaders[name] = text(value, 'Headers');
      }
      const forbidden = forbiddenHeader(customHeaders, tags.length > 0 ? ['x-tags'] : []);
      if (forbidden !== null) throw new SendError(`cannot overwrite header: "${forbidden}"`);
      const fromFields = fields(f.get('from'));
      const fromEmail = text(fromFields.get('email'), 'From.Email');
      if (fromEmail === '') throw new SendError('error building message: from not set');
      const from = address(fromEmail, text(fromFields.get('name'), 'From.Name'), 'From');
      const to = list(f.get('to'), 'To').map((v) => person(v, 'To'));
      const cc = list(f.get('cc'), 'Cc').map((v) => person(v, 'Cc'));
      const bcc = list(f.get('bcc'), 'Bcc').map((v) => address(text(v, 'Bcc'), '', 'Bcc').address);
      const replyTo = list(f.get('replyto'), 'ReplyTo').map((v) => person(v, 'Reply-To'));
      const subject = text(f.get('subject'), 'Subject');
      if (subject === '') throw new SendError('error building message: subject not set');
      if (to.length + cc.length + bcc.length === 0) throw new SendError('error building message: no recipients (to, cc, bcc) set');
      const textBody = text(f.get('text'), 'Text');
      const html = text(f.get('html'), 'HTML');
      composed = await composeMessage({
        from,
        to,
        cc,
        bcc,
        replyTo,
        subject,
        ...(textBody === '' ? {} : { text: textBody }),
        ...(html === '' ? {} : { html }),
        attachments: list(f.get('attachments'), 'Attachments').map(attachment),
        headers: { ...customHeaders, 'Return-Path': `<${from.address}>`, ...(tags.length > 0 ? { 'X-Tags': tags.join(', ') } : {}) },
      });
    } catch (error) {
      if (error instanceof SendError || error instanceof ComposeError) return fail(reply, 400, error.message);
      throw error;
    }
    try {
      const message = await storeComposed(store, composed, request.ip, maxMessageSize);
      return sendJson(reply, { ID: message.id });
    } catch (error) {
      if (error instanceof MessageTooLarge) return fail(reply, 413, error.message);
      throw error;
    }
  });
};
