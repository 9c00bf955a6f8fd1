import { Type, type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  { error: Type.String({ description: 'Stable error code' }), message: Type.String() }
);

export const AddressSchema = Type.Object({ name: Type.String(), address: Type.String() });

export const EnvelopeSchema = Type.Object(
  {
    mailFrom: Type.String({ description: 'MAIL FROM address; empty for the null sender <>' }),
    rcptTo: Type.Array(Type.String(), { description: 'Every RCPT TO address, Bcc recipients included' }),
  }
);

const summaryProperties = {
  id: Type.String(),
  from: Nullable(AddressSchema),
  to: Type.Array(AddressSchema),
  cc: Type.Array(AddressSchema),
  subject: Type.String(),
  date: Nullable(Type.String({ format: 'date-time', description: 'The Date header' })),
  receivedAt: Type.String({ format: 'date-time' }),
  size: Type.Integer({ description: 'Raw size in bytes' }),
  read: Type.Boolean(),
  tags: Type.Array(Type.String(), { description: 'Its tags in the order it got them; IMAP shows them as keywords' }),
  attachmentCount: Type.Integer({ description: 'Attachments, not counting inline parts such as cid: images' }),
  snippet: Type.String({ description: 'The start of the text body' }),
  envelope: EnvelopeSchema,
};

export const SummarySchema = Type.Object(summaryProperties);

export const AttachmentSchema = Type.Object(
  {
    partId: Type.String({ description: 'MIME part number, as IMAP numbers sections' }),
    filename: Nullable(Type.String()),
    contentType: Type.String(),
    size: Type.Integer({ description: 'Decoded size in bytes' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the decoded content, lower-case hex' }),
    contentId: Nullable(Type.String()),
    disposition: Type.Union([Type.Literal('attachment'), Type.Literal('inline')]),
  }
);

export const DetailSchema = Type.Object(
  {
    ...summaryProperties,
    headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() }), {
      description: 'Top-level header fields in order, encoded words decoded',
    }),
    text: Nullable(Type.String()),
    html: Nullable(Type.String()),
    attachments: Type.Array(AttachmentSchema),
    smtp: Type.Object({
      helo: Nullable(Type.String()),
      remoteAddress: Nullable(Type.String()),
      authUser: Nullable(Type.String()),
      tls: Type.Boolean(),
    }),
  }
);

export const PageSchema = Type.Object({
  total: Type.Integer({ description: 'Messages matching the query' }),
  unread: Type.Integer({ description: 'Unread messages matching the query' }),
  messages: Type.Array(SummarySchema),
});

export const QueryString = Type.String({
  maxLength: 4096,
  description:
    'Search: free words, "exact phrase", from:, to:, cc:, subject:, message-id:, has:attachment, is:read, is:unread, tag:, is:tagged, before:YYYY-MM-DD, after:YYYY-MM-DD; prefix a term with - to negate it',
});

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const DeletedSchema = Type.Object({ deleted: Type.Integer() });

export type MessageSummary = Static<typeof SummarySchema>;
export type MessageDetail = Static<typeof DetailSchema>;
