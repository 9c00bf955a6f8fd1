import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** How a connection to an SMTP server is secured: `auto` is implicit TLS on port 465, else STARTTLS when offered. */
export type SmtpSecurity = 'auto' | 'starttls' | 'tls' | 'none';

export const SMTP_SECURITY: readonly SmtpSecurity[] = ['auto', 'starttls', 'tls', 'none'];

export interface SmtpLogin {
  user: string;
  pass: string;
  /** A SASL mechanism; otherwise the first of PLAIN, LOGIN and CRAM-MD5 the server offers. */
  method?: string;
  /** Why these credentials must not go over this session, or null; asked once EHLO (and any STARTTLS) is done. */
  refuse?: (session: { secure: boolean }) => string | null;
}

export interface SmtpTarget {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Check the server's certificate (issuer and host name); off accepts a self-signed one. */
  verifyCertificate: boolean;
  /** The EHLO name; the machine's host name when not given. */
  name?: string;
  login?: SmtpLogin;
}

export interface Delivery {
  accepted: string[];
  rejected: { recipient: string; reply: string }[];
  /** The server's reply to the message. */
  reply: string;
}

/** Where a delivery failed, in the order an SMTP session goes. */
export type DeliveryStage = 'connect' | 'hello' | 'tls' | 'auth' | 'mail' | 'rcpt' | 'data' | 'message';

export class DeliveryError extends Error {
  constructor(
    readonly stage: DeliveryStage,
    message: string,
    /** The server's reply that ended it, when one did. */
    readonly reply: string | null,
    /** The system's code for a connection that failed (ECONNREFUSED...). */
    readonly systemCode: string | null = null,
    /** The first refused recipient, when every recipient was refused. */
    readonly recipient: string | null = null,
  ) {
    super(message);
  }
}

/**
 * No relay should hold a request open for minutes: connecting, the greeting and every reply
 * after have these limits (nodemailer's own are 2 minutes, 30 seconds and 10 minutes).
 */
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };

type Phase = 'connect' | 'auth' | 'send';

/** `upgrading`: a STARTTLS handshake was under way, whose failures (a certificate refused) come as socket errors. */
function stageOf(error: SMTPConnection.SMTPError, phase: Phase, upgrading: boolean): DeliveryStage {
  const command = error.command ?? '';
  if (upgrading || command === 'STARTTLS' || error.code === 'ETLS') return 'tls';
  if (['EHLO', 'HELO', 'LHLO'].includes(command)) return 'hello';
  if (phase === 'connect') return 'connect';
  if (phase === 'auth') return 'auth';
  if (command === 'MAIL FROM') return 'mail';
  if (command === 'RCPT TO') return 'rcpt';
  // The reply to DATA itself, before any of the message went.
  if (command === 'DATA' && error.code === 'EENVELOPE') return 'data';
  return 'message';
}

function deliveryError(error: SMTPConnection.SMTPError, phase: Phase, upgrading: boolean): DeliveryError {
  const stage = stageOf(error, phase, upgrading);
  const recipient = stage === 'rcpt' ? (error.rejectedErrors?.[0]?.recipient ?? error.rejected?.[0] ?? null) : null;
  const reply = stage === 'rcpt' ? (error.rejectedErrors?.[0]?.response ?? error.response ?? null) : (error.response ?? null);
  return new DeliveryError(stage, error.message, reply, error.originalCode ?? null, recipient);
}

/**
 * Sends a message in one SMTP session: connect (TLS as the target says), EHLO, AUTH when a
 * login is given (an error if the server offers none), MAIL FROM, RCPT TO each recipient,
 * DATA, QUIT. A refused recipient is skipped, as long as one is accepted. Bare CR and LF in
 * the message go out as CRLF, and leading dots are doubled.
 */
export function deliver(target: SmtpTarget, envelope: { from: string; to: readonly string[] }, raw: Buffer): Promise<Delivery> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection({
      host: target.host,
      port: target.port,
      secure: target.security === 'tls' || (target.security === 'auto' && target.port === 465),
      requireTLS: target.security === 'starttls',
      ignoreTLS: target.security === 'none',
      tls: { rejectUnauthorized: target.verifyCertificate },
      ...(target.name === undefined ? {} : { name: target.name }),
      ...TIMEOUTS,
    });
    let phase: Phase = 'connect';
    let settled = false;
    // Whatever goes wrong after the first failure (a late close, a timeout) is that same failure.
    const fail = (error: DeliveryError): void => {
      if (settled) return;
      settled = true;
      connection.close();
      reject(error);
    };
    const failWith = (error: SMTPConnection.SMTPError): void => fail(deliveryError(error, phase, connection.upgrading === true));
    const send = (): void => {
      phase = 'send';
      connection.send({ from: envelope.from, to: [...envelope.to], size: raw.length }, raw, (error, info) => {
        if (error) return failWith(error);
        settled = true;
        connection.quit();
        resolve({
          accepted: info.accepted,
          rejected: (info.rejectedErrors ?? []).map((e) => ({ recipient: e.recipient ?? '', reply: e.response ?? e.message })),
          reply: info.response,
        });
      });
    };
    connection.on('error', failWith);
    connection.once('end', () => fail(new DeliveryError(phase === 'send' ? 'message' : phase, 'the SMTP server closed the connection', null)));
    connection.connect(() => {
      phase = 'auth';
      const login = target.login;
      if (login === undefined) return send();
      const refusal = connection.allowsAuth ? (login.refuse?.({ secure: connection.secure }) ?? null) : "smtp: server doesn't support AUTH";
      if (refusal !== null) return fail(new DeliveryError('auth', refusal, null));
      connection.login({ user: login.user, pass: login.pass, ...(login.method === undefined ? {} : { method: login.method }) }, (error) =>
        error ? failWith(error) : send(),
      );
    });
  });
}
