import { createHash } from 'node:crypto';

/** One attachment as GET /api/messages/:id lists it. */
export interface ExpectedAttachment {
  partId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: null;
  disposition: 'attachment';
}

export interface ManyParts {
  raw: Buffer;
  subject: string;
  /** What mailparser makes of the two bodies in a multipart/mixed: the plain text, then the HTML as text. */
  text: string;
  /** The text part adds an empty string, joined with "<br/>\n" to the HTML part. */
  html: string;
  /** Parts 3 to `leaves`, in order. */
  attachments: ExpectedAttachment[];
}

const BOUNDARY = 'many-parts-boundary';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * A multipart/mixed message of `leaves` parts, CRLF throughout: part 1 a
 * text/plain body, part 2 a text/html body, then attachments, odd parts a
 * 7bit text file and even parts a base64 binary.
 */
export function manyPartsMessage(leaves: number): ManyParts {
  const subject = `${leaves} parts`;
  const chunks = [
    `From: Bulk <bulk@example.test>\r\nTo: user@example.test\r\nSubject: ${subject}\r\nMessage-ID: <many-${leaves}@example.test>\r\n`,
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${BOUNDARY}"\r\n\r\n`,
    `--${BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain body of a message with ${leaves} parts.\r\n`,
    `--${BOUNDARY}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML body of a message with <b>${leaves}</b> parts.</p>\r\n`,
  ];
  const attachments: ExpectedAttachment[] = [];
  for (let part = 3; part <= leaves; part++) {
    const text = part % 2 === 1;
    const content = Buffer.from(text ? `note ${part}` : `blob ${part}`);
    const filename = text ? `note-${part}.txt` : `blob-${part}.bin`;
    const contentType = text ? 'text/plain' : 'application/octet-stream';
    chunks.push(
      `--${BOUNDARY}\r\nContent-Type: ${contentType}${text ? '; charset=utf-8' : ''}\r\n` +
        (text ? '' : 'Content-Transfer-Encoding: base64\r\n') +
        `Content-Disposition: attachment; filename="${filename}"\r\n\r\n` +
        `${text ? content.toString() : content.toString('base64')}\r\n`,
    );
    attachments.push({ partId: String(part), filename, contentType, size: content.length, sha256: sha256(content), contentId: null, disposition: 'attachment' });
  }
  chunks.push(`--${BOUNDARY}--\r\n`);
  return {
    raw: Buffer.from(chunks.join('')),
    subject,
    text: `Plain body of a message with ${leaves} parts.\nHTML body of a message with ${leaves} parts.`,
    html: `<br/>\n<p>HTML body of a message with <b>${leaves}</b> parts.</p>`,
    attachments,
  };
}
