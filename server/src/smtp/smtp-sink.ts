import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from 'pino';
import { ConnectionLimits, refusalText } from '../guard/connection-limits.js';
import type { Credentials } from '../guard/credentials.js';
import type { IngestBudget } from '../guard/ingest-budget.js';
import type { LoginThrottle } from '../guard/login-throttle.js';
import { StoreCapacityError, StoreWriteError, type Store } from '../store/store.js';
import type { TlsMaterial } from '../tls.js';
import { SmtpDeadlines } from './deadlines.js';
import { formatRule, type RuleDecision, type SmtpRuleSet } from './reject-rules.js';

export interface SmtpSinkOptions {
  store: Store;
  logger: Logger;
  maxMessageSize: number;
  tls: TlsMaterial | null;
  /** Implicit TLS from the first byte (SMTPS) rather than STARTTLS. */
  secure: boolean;
  /** Reject and delay rules, shared with the HTTP API that changes them. */
  rules: SmtpRuleSet;
  /** Logins SMTP requires; null accepts any credentials, and none. */
  auth: Credentials | null;
  throttle: LoginThrottle;
  /** Open connections in all and per client address, shared by the SMTP listeners. */
  limits: ConnectionLimits;
  /** Silence, or one command line, at most this long. */
  commandTimeoutMs: number;
  /** One message's content at most this long. */
  dataTimeoutMs: number;
  /** Bytes of messages being received, shared by every SMTP session. */
  ingest: IngestBudget;
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

/** What smtp-server's connection objects offer that closing one uses. */
interface Connection {
  id: string;
  close(): void;
}

/**
 * The SMTP sink: accepts every sender, recipient and credential, and stores
 * each message, exactly as received, before answering 250. Reject rules may
 * refuse a connection, an AUTH, a MAIL FROM, a RCPT TO or a message at the end
 * of DATA, hang up instead of answering, or hold a reply back; a refused
 * message is never stored and one answered 250 always is.
 */
export function createSmtpSink(options: SmtpSinkOptions): SMTPServer {
  const { store, logger, tls, rules, auth, throttle, limits } = options;
  /** Sessions counted in limits, so each is released exactly once. */
  const counted = new Map<string, string>();
  /** Bytes each session holds of the ingest budget, given back when its message is stored, refused or abandoned. */
  const holding = new Map<string, number>();
  const hold = (sessionId: string, bytes: number): boolean => {
    if (!options.ingest.take(bytes)) return false;
    holding.set(sessionId, (holding.get(sessionId) ?? 0) + bytes);
    return true;
  };
  const letGo = (sessionId: string): void => {
    const bytes = holding.get(sessionId);
    if (bytes === undefined) return;
    holding.delete(sessionId);
    options.ingest.release(bytes);
  };
  /** Replies a delay rule holds back, by session, cancelled when the client hangs up. */
  const held = new Map<string, Set<NodeJS.Timeout>>();

  function after(session: SMTPServerSession, delay: number, run: () => void): void {
    if (delay <= 0) {
      run();
      return;
    }
    let timers = held.get(session.id);
    if (!timers) held.set(session.id, (timers = new Set()));
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (timers.size === 0) held.delete(session.id);
      run();
    }, delay);
    timers.add(timer);
  }

  /**
   * Closes a session's connection without a reply: the client sees the connection drop. smtp-server
   * hands its hooks the session only, so the connection is found by id; the pending command's
   * callback is left uncalled, and onClose releases what the session holds.
   */
  function hangUp(session: SMTPServerSession): void {
    for (const connection of server.connections as unknown as Set<Connection>) {
      if (connection.id === session.id) {
        connection.close();
        return;
      }
    }
  }

  /** Answers a command as the rule decided: an error, a hang-up, or normally, each after the rule's delay. */
  function answer(session: SMTPServerSession, decision: RuleDecision | null, command: string, accept: () => void, reject: (error: Error) => void): void {
    if (!decision) {
      accept();
      return;
    }
    const { rule, reply, disconnect, delay } = decision;
    const context = { rule: formatRule(rule), ...(rule.origin ? { origin: rule.origin } : {}), session: session.id };
    const late = delay ? ` after ${delay} ms` : '';
    if (reply) logger.info(context, `SMTP rule answers ${command} with ${reply.code}${late}`);
    else if (disconnect) logger.info(context, `SMTP rule hangs up on ${command}${late}`);
    else logger.debug(context, `SMTP rule delays ${command} by ${delay} ms`);
    after(session, delay, () => {
      if (disconnect) hangUp(session);
      else if (reply) reject(smtpError(reply.code, reply.text));
      else accept();
    });
  }

  const server = new SMTPServer({
    secure: options.secure,
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    hideSTARTTLS: tls === null,
    // Without TLS configured, STARTTLS would run on smtp-server's built-in certificate, whose key is public.
    disabledCommands: tls === null ? ['STARTTLS'] : [],
    name: 'mailroom',
    banner: 'Mailroom ESMTP ready',
    size: options.maxMessageSize,
    hideENHANCEDSTATUSCODES: false,
    // A reverse lookup per connection stalls sessions for seconds in containers without DNS.
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: auth === null,
    authRequiredMessage: 'Authentication required',
    allowInsecureAuth: true,
    socketTimeout: options.commandTimeoutMs,
    // Let a shutdown finish within the CLI's two-second promise.
    closeTimeout: 500,
    logger: false,
    onConnect(session, callback) {
      const refusal = limits.acquire(session.remoteAddress);
      if (refusal !== null) {
        logger.warn({ remoteAddress: session.remoteAddress }, `SMTP connection refused: ${refusalText(refusal)}`);
        callback(smtpError(421, refusalText(refusal)));
        return;
      }
      counted.set(session.id, session.remoteAddress);
      deadlines.open(session.id);
      // A refusal here is sent without an enhanced status code, as a greeting would be (RFC 2034 §3).
      answer(session, rules.decide({ on: 'connect', address: session.remoteAddress }), `the connection from ${session.remoteAddress}`, () => callback(), callback);
    },
    onSecure(socket, session, callback) {
      deadlines.upgraded(session.id, socket as Socket);
      callback();
    },
    onAuth(login, session, callback) {
      const user = login.username ?? '';
      // smtp-server asks once the credentials are in, so a rule answers AUTH after the client sent them.
      answer(session, rules.decide({ on: 'auth', user }), `AUTH ${login.method}`, () => authenticate(user, login.password ?? '', session, callback), callback);
    },
    onMailFrom(address, session, callback) {
      const decision = rules.decide({ on: 'mail', address: address.address });
      answer(session, decision, `MAIL FROM:<${address.address}>`, () => callback(), callback);
    },
    onRcptTo(address, session, callback) {
      // A refused recipient is left out of session.envelope.rcptTo, so the others still get the message.
      const decision = rules.decide({ on: 'rcpt', address: address.address });
      answer(session, decision, `RCPT TO:<${address.address}>`, () => callback(), callback);
    },
    onClose(session) {
      const address = counted.get(session.id);
      if (address !== undefined) {
        counted.delete(session.id);
        limits.release(address);
      }
      deadlines.close(session.id);
      // A reply held back for a client that hung up is never sent, and its message never stored.
      for (const timer of held.get(session.id) ?? []) clearTimeout(timer);
      held.delete(session.id);
      letGo(session.id);
    },
    onData(stream, session, callback) {
      deadlines.dataStarted(session.id);
      stream.once('end', () => deadlines.dataEnded(session.id));
      collect(stream, session, callback);
    },
  });
  const deadlines = new SmtpDeadlines(server, { commandMs: options.commandTimeoutMs, dataMs: options.dataTimeoutMs, logger });

  function authenticate(user: string, password: string, session: SMTPServerSession, callback: (error: Error | null | undefined, response?: { user: string }) => void): void {
    if (auth === null) {
      callback(null, { user });
      return;
    }
    // Every attempt waits its turn at the client's address, so guessing is as slow as the throttle makes it.
    throttle
      .admit(session.remoteAddress)
      .then(() => auth.verify(user, password))
      .then((ok) => {
        if (ok) return callback(null, { user });
        throttle.failed(session.remoteAddress);
        callback(smtpError(535, 'Authentication credentials invalid'));
      }, callback);
  }

  function collect(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null, message?: string) => void,
  ): void {
    const chunks: Buffer[] = [];
    let length = 0;
    let overBudget = false;
    const finish = (error?: Error | null, text?: string): void => {
      letGo(session.id);
      callback(error, text);
    };
    stream.on('data', (chunk: Buffer) => {
      // Past a limit keep reading to the final dot, but hold nothing.
      if (stream.sizeExceeded || overBudget) return;
      if (!hold(session.id, chunk.length)) {
        overBudget = true;
        chunks.length = 0;
        letGo(session.id);
        return;
      }
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.on('end', () => {
      if (stream.sizeExceeded) {
        finish(smtpError(552, `Message exceeds the size limit of ${options.maxMessageSize} bytes`));
        return;
      }
      if (overBudget) {
        logger.warn({ session: session.id, inFlight: options.ingest.inUse }, 'SMTP message refused: too much mail being received at once');
        finish(smtpError(452, 'Too much mail being received at once, try again later'));
        return;
      }
      const envelope = {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      };
      // Decided before anything is stored: a message refused here is never kept.
      const decision = rules.decide({ on: 'data', size: length, recipients: envelope.rcptTo });
      answer(session, decision, `the message of ${length} bytes`, () => keep(envelope), finish);
    });

    async function keep(envelope: { mailFrom: string; rcptTo: string[] }): Promise<void> {
      const raw = exactCopy(chunks, length);
      // The copy is what is kept while the write is under way; the pieces need not be held too.
      chunks.length = 0;
      try {
        const message = await store.add({
          raw,
          envelope,
          smtp: {
            helo: session.hostNameAppearsAs || null,
            remoteAddress: session.remoteAddress || null,
            authUser: typeof session.user === 'string' ? session.user : null,
            tls: session.secure,
          },
        });
        finish(null, `Ok: queued as ${message.id}`);
      } catch (error) {
        if (error instanceof StoreCapacityError) {
          finish(smtpError(552, error.message));
          return;
        }
        if (error instanceof StoreWriteError) {
          // RFC 5321 §4.2.5: temporary, so the sender keeps the message and tries again.
          logger.error({ err: error.cause }, 'a message could not be written to the data directory');
          finish(error.full ? smtpError(452, 'Insufficient system storage') : smtpError(451, 'Local error in processing'));
          return;
        }
        logger.error({ err: error }, 'storing a message failed');
        finish(smtpError(451, 'Local error in processing'));
      }
    }
  }

  server.on('error', (error: NodeJS.ErrnoException) => {
    // A failed listen is the caller's to report (it names the setting); logging it here too printed a stack trace first.
    if (error.syscall === 'listen') return;
    logger.warn({ err: error }, 'SMTP connection error');
  });
  return server;
}
