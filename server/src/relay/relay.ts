import { randomUUID } from 'node:crypto';
import { prepareForRelay, rfc1123z } from './prepare.js';
import { deliver, type Delivery, type SmtpSecurity } from './smtp-client.js';

/** The SMTP server released messages go to (--smtp-relay and its companions). */
export interface RelaySettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Accept a certificate that does not verify, such as a self-signed one. */
  insecure: boolean;
  auth: { user: string; pass: string } | null;
  /** The envelope sender, and Return-Path, of every release; null keeps each message's own sender. */
  returnPath: string | null;
  /** Relay each message with its own Message-ID rather than a new one. */
  preserveMessageIds: boolean;
}

/** The relay as Mailpit names it: host:port, an IPv6 host without brackets. */
export const relayServer = (settings: RelaySettings): string => `${settings.host}:${settings.port}`;

/**
 * Sends a stored message to `to` through the relay, from `sender` unless a return path is
 * configured, as Mailpit releases it: without its Bcc fields, dated now, with a new
 * Message-ID unless IDs are preserved (a second release of the same message would otherwise
 * be dropped as a duplicate by many mailbox providers).
 */
export function relayMessage(settings: RelaySettings, sender: string, to: readonly string[], raw: Buffer): Promise<Delivery> {
  const prepared = prepareForRelay(raw, {
    date: rfc1123z(new Date()),
    messageId: settings.preserveMessageIds ? null : `<${randomUUID()}@mailroom>`,
    returnPath: settings.returnPath,
  });
  return deliver(
    {
      host: settings.host,
      port: settings.port,
      security: settings.security,
      verifyCertificate: !settings.insecure,
      ...(settings.auth === null ? {} : { login: { user: settings.auth.user, pass: settings.auth.pass } }),
    },
    { from: settings.returnPath ?? sender, to },
    prepared,
  );
}
