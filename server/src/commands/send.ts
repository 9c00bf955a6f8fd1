import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { EXIT, readFlags, UsageError, write } from './args.js';
import { readReadyFile } from '../ready-file.js';

export const sendHelp = `Usage: mailroom send [--smtp HOST:PORT] [--from ADDR] [--to ADDR]... [--cc ADDR]... [--bcc ADDR]...
                     [--subject TEXT] [--body TEXT] [--html HTML] [--attach FILE]...
                     [--header "Name: value"]... [--auth USER:PASS]

Sends one test message over SMTP, like swaks, for smoke tests. Prints the id
Mailroom gave it (or, from another server, its reply).

  --smtp HOST:PORT  the SMTP server [MAILROOM_SMTP] (default: the one in
                    MAILROOM_READY_FILE, else 127.0.0.1 on MAILROOM_SMTP_PORT or 1025)
  --from ADDR       sender (default sender@example.com)
  --to ADDR         recipient; repeat or separate with commas (default recipient@example.com)
  --cc, --bcc ADDR  more recipients, likewise
  --subject TEXT    default "Test message from mailroom send"
  --body TEXT       the text body (default a line naming the time)
  --html HTML       an HTML body as well
  --attach FILE     attach a file; repeat for more
  --header "N: V"   an extra header field; repeat for more
  --auth USER:PASS  log in with AUTH (Mailroom accepts any)

STARTTLS is used when offered, without checking the certificate.
Exit status: 0 sent, 1 refused or unreachable, 2 bad usage.
`;

const SPEC = {
  smtp: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  cc: { type: 'string', multiple: true },
  bcc: { type: 'string', multiple: true },
  subject: { type: 'string' },
  body: { type: 'string' },
  html: { type: 'string' },
  attach: { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
  auth: { type: 'string' },
} as const;

function smtpAddress(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  const port = Number(match?.[2] ?? 25);
  if (!match || port < 1 || port > 65535) throw new UsageError(`--smtp: expected HOST:PORT, got "${text}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

const list = (values: unknown): string[] | undefined => {
  const items = ((values as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  return items.length === 0 ? undefined : items;
};

export async function sendCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = readFlags(argv, SPEC);
  if (flags.help) {
    await write(process.stdout, sendHelp);
    return EXIT.ok;
  }
  const text = (name: keyof typeof SPEC): string | undefined => flags[name] as string | undefined;
  const envPort = env.MAILROOM_SMTP_PORT && /^\d+$/.test(env.MAILROOM_SMTP_PORT) && env.MAILROOM_SMTP_PORT !== '0' ? env.MAILROOM_SMTP_PORT : '1025';
  const ready = readReadyFile(env.MAILROOM_READY_FILE);
  const readyAddress = ready?.ports.smtp === undefined ? undefined : `${ready.host.includes(':') ? `[${ready.host}]` : ready.host}:${ready.ports.smtp}`;
  const smtp = smtpAddress(text('smtp') ?? (env.MAILROOM_SMTP || readyAddress || `127.0.0.1:${envPort}`));
  const headers: Record<string, string> = {};
  for (const field of (flags.header as string[] | undefined) ?? []) {
    const colon = field.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(field.slice(0, colon).trim())) throw new UsageError(`--header: expected "Name: value", got "${field}"`);
    headers[field.slice(0, colon).trim()] = field.slice(colon + 1).trim();
  }
  const attachments = [];
  for (const file of (flags.attach as string[] | undefined) ?? []) {
    try {
      attachments.push({ filename: basename(file), content: await readFile(file) });
    } catch (error) {
      throw new UsageError(`--attach: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const auth = text('auth');
  if (auth !== undefined && !auth.includes(':')) throw new UsageError(`--auth: expected USER:PASS, got "${auth}"`);

  // Loaded here so that --help and usage mistakes answer without loading nodemailer.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    tls: { rejectUnauthorized: false },
    connectionTimeout: 10_000,
    ...(auth === undefined ? {} : { auth: { user: auth.slice(0, auth.indexOf(':')), pass: auth.slice(auth.indexOf(':') + 1) } }),
  });
  try {
    const info = await transport.sendMail({
      from: text('from') ?? 'sender@example.com',
      to: list(flags.to) ?? ['recipient@example.com'],
      cc: list(flags.cc),
      bcc: list(flags.bcc),
      subject: text('subject') ?? 'Test message from mailroom send',
      text: text('body') ?? `This is a test message sent by mailroom send at ${new Date().toISOString()}.\n`,
      ...(text('html') === undefined ? {} : { html: text('html') }),
      headers,
      attachments,
    });
    const id = /queued as (\S+)/.exec(info.response)?.[1];
    await write(process.stdout, `${id ?? info.response}\n`);
    return EXIT.ok;
  } catch (error) {
    await write(process.stderr, `mailroom send: ${(error as Error).message} (${smtp.host}:${smtp.port})\n`);
    return EXIT.failed;
  } finally {
    transport.close();
  }
}
