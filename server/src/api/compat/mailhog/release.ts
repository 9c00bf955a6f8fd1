import { deliver, type SmtpLogin } from '../../../relay/smtp-client.js';
import { MAILHOG_HOSTNAME } from './message.js';

/** MailHog's config.OutgoingSMTP, the body of a release. */
export interface ReleaseConfig {
  Name: string;
  Save: boolean;
  Email: string;
  Host: string;
  Port: string;
  Username: string;
  Password: string;
  Mechanism: string;
}

const STRING_FIELDS = ['Name', 'Email', 'Host', 'Port', 'Username', 'Password', 'Mechanism'] as const;
const FIELD_BY_KEY = new Map<string, keyof ReleaseConfig>([...STRING_FIELDS, 'Save' as const].map((field) => [field.toLowerCase(), field]));

/**
 * The body as Go's json.Decoder fills config.OutgoingSMTP, or null where it
 * reports an error (MailHog then answers 500): keys match fields in any case
 * and the last one wins, unknown keys and nulls are skipped, and a value of
 * the wrong type is an error, so `"Port": 25` fails where `"Port": "25"`
 * works. A body of `null` is no error and leaves every field empty. Unlike
 * Go's decoder, which reads the first JSON value and ignores what follows,
 * trailing text is refused.
 */
export function decodeReleaseConfig(body: Buffer): ReleaseConfig | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const config: ReleaseConfig = { Name: '', Save: false, Email: '', Host: '', Port: '', Username: '', Password: '', Mechanism: '' };
  if (value === null) return config;
  if (typeof value !== 'object' || Array.isArray(value)) return null;
  let typesMatch = true;
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const name = FIELD_BY_KEY.get(key.toLowerCase());
    if (name === undefined || field === null) continue;
    if (name === 'Save') {
      if (typeof field === 'boolean') config.Save = field;
      else typesMatch = false;
    } else if (typeof field === 'string') {
      config[name] = field;
    } else {
      typesMatch = false;
    }
  }
  return typesMatch ? config : null;
}

/** Net/smtp's names for the two mechanisms MailHog offers, and nodemailer's. */
const MECHANISMS = new Map([
  ['PLAIN', 'PLAIN'],
  ['CRAMMD5', 'CRAM-MD5'],
]);

/**
 * Why a release is refused before any connection (MailHog's 400), or null.
 * MailHog keeps saved servers in memory (`Save` and `Name`); Mailroom keeps
 * none, so a `Name` without `Save` names an unknown server, and with `Save`
 * the body's own settings are used, as MailHog would use the server it just
 * saved, without remembering them.
 */
export function refusal(config: ReleaseConfig): string | null {
  if (config.Name !== '' && !config.Save) return `no saved server named ${config.Name}`;
  if ((config.Username !== '' || config.Password !== '') && !MECHANISMS.has(config.Mechanism)) {
    return `unknown mechanism ${JSON.stringify(config.Mechanism)}: PLAIN or CRAMMD5`;
  }
  return null;
}

/** Hosts net/smtp's PlainAuth sends a password to without TLS. */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];

/**
 * Relays a message as net/smtp.SendMail does for MailHog: EHLO localhost,
 * STARTTLS whenever offered (certificate checked), AUTH only when
 * credentials are given (an error if the server offers none, and PLAIN only
 * over TLS or to localhost), MAIL FROM nobody@<MailHog's host name>, one RCPT
 * TO, the message. MailHog sends its parsed header map (one value per name,
 * in random order) before the body; Mailroom sends the bytes it received.
 */
export async function relay(raw: Buffer, config: ReleaseConfig): Promise<void> {
  const port = /^\d+$/.test(config.Port) ? Number(config.Port) : NaN;
  if (!(port <= 65_535)) throw new Error(`invalid port ${JSON.stringify(config.Port)}`);
  let login: SmtpLogin | undefined;
  if (config.Username !== '' || config.Password !== '') {
    // refusal() has checked the mechanism.
    const method = MECHANISMS.get(config.Mechanism)!;
    login = {
      user: config.Username,
      pass: config.Password,
      method,
      refuse: ({ secure }) => (method === 'PLAIN' && !secure && !LOCAL_HOSTS.includes(config.Host) ? 'unencrypted connection' : null),
    };
  }
  await deliver(
    { host: config.Host, port, security: 'auto', verifyCertificate: true, name: 'localhost', ...(login ? { login } : {}) },
    { from: `nobody@${MAILHOG_HOSTNAME}`, to: [config.Email] },
    raw,
  );
}
