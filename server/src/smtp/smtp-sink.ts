import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { StoreCapacityError, type MessageStore } from '../store/message-store.js';
import type { TlsMaterial } from '../tls.js';

export interface SmtpSinkOptions {
  store: MessageStore;
  logger: Logger;
  maxMessageSize: number;
  tls: TlsMaterial | null;
  /** Implicit TLS from the first byte (SMTPS) rather than STARTTLS. */
  secure: boolean;
}

/**
 * The message in a buffer of its own. Buffer.concat would take small messages
 * from Node's shared 8 KiB pool, and a stored slice keeps the whole slab alive.
 */
function exactCopy(chunks: readonly Buffer[], length: number): Buffer {
  const raw = Buffer.allocUnsafeSlow(length);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(raw, offset);
  return raw;
}

/** An error smtp-server turns into a reply with this code. */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * The SMTP sink: accepts every sender, recipient and credential, and stores
 * each message, exactly as received, before answering 250.
 */
export function createSmtpSink(options: SmtpSinkOptions): SMTPServer {
  const { store, logger, tls } = options;
  const server = new SMTPServer({
    secure: options.secure,
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    hideSTARTTLS: tls === null,
    name: 'mailroom',
    banner: 'Mailroom ESMTP ready',
    size: options.maxMessageSize,
    hideENHANCEDSTATUSCODES: false,
    // A reverse lookup per connection stalls sessions for seconds in containers without DNS.
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    allowInsecureAuth: true,
    // Let a shutdown finish within the CLI's two-second promise.
    closeTimeout: 500,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? '' });
    },
    onData(stream, session, callback) {
      collect(stream, session, callback);
    },
  });

  function collect(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null, message?: string) => void,
  ): void {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      // Past the limit keep reading to the final dot, but hold nothing.
      if (stream.sizeExceeded) return;
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.on('end', () => {
      if (stream.sizeExceeded) {
        callback(smtpError(552, `Message exceeds the size limit of ${options.maxMessageSize} bytes`));
        return;
      }
      try {
        const message = store.add({
          raw: exactCopy(chunks, length),
          envelope: {
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          },
          smtp: {
            helo: session.hostNameAppearsAs || null,
            remoteAddress: session.remoteAddress || null,
            authUser: typeof session.user === 'string' ? session.user : null,
            tls: session.secure,
          },
        });
        callback(null, `Ok: queued as ${message.id}`);
      } catch (error) {
        if (error instanceof StoreCapacityError) {
          callback(smtpError(552, error.message));
          return;
        }
        logger.error({ err: error }, 'storing a message failed');
        callback(smtpError(451, 'Local error in processing'));
      }
    });
  }

  server.on('error', (error) => logger.warn({ err: error }, 'SMTP connection error'));
  return server;
}
