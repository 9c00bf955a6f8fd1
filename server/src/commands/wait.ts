import { MailroomClient, MailroomError, MailroomTimeoutError, type MessageMatch } from '../client/index.js';
import { apiUrl, clientCredentials, CREDENTIAL_FLAGS, credentialsHelp, EXIT, readFlags, secondsFlag, UsageError, write } from './args.js';

export const waitHelp = `Usage: mailroom wait [--to ADDR] [--from ADDR] [--subject TEXT|/REGEX/flags] [--query Q]
                     [--timeout SECONDS] [--count N] [--after ID|0|now] [--api URL]
                     [--api-token TOKEN | --api-auth USER:PASS]

Waits for a message matching every option given and prints it as JSON (with
--count, a JSON array of the first N matches, oldest first).

  --to ADDR         a recipient (RCPT TO, To, Cc or Bcc); a full address matches exactly
  --from ADDR       the sender (From or MAIL FROM), as a substring
  --subject TEXT    a substring of the subject; /REGEX/flags is tested as a regular expression
  --query Q         more terms in Mailroom's query language, such as "has:attachment"
  --timeout SECONDS how long to wait (default 30)
  --count N         wait for N matching messages
  --after ID|0|now  count only mail after that message id, every stored message (0,
                    the default), or only mail arriving after the command starts (now)
  --api URL         Mailroom's HTTP address [MAILROOM_API] (default: the one in
                    MAILROOM_READY_FILE, else http://127.0.0.1:8025)
${credentialsHelp}

Exit status: 0 found, 1 timed out (what arrived instead is on standard error) or
Mailroom unreachable, 2 bad usage.
`;

const SPEC = {
  to: { type: 'string' },
  from: { type: 'string' },
  subject: { type: 'string' },
  query: { type: 'string' },
  timeout: { type: 'string' },
  count: { type: 'string' },
  after: { type: 'string' },
  api: { type: 'string' },
  ...CREDENTIAL_FLAGS,
} as const;

/** `/source/flags` as a RegExp, anything else as the text itself. */
export function subjectArgument(text: string): string | RegExp {
  const literal = /^\/(.+)\/([dgimsuvy]*)$/s.exec(text);
  if (!literal) return text;
  try {
    return new RegExp(literal[1]!, literal[2]);
  } catch (error) {
    throw new UsageError(`--subject: ${(error as Error).message}`);
  }
}

export async function waitCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = readFlags(argv, SPEC);
  if (flags.help) {
    await write(process.stdout, waitHelp);
    return EXIT.ok;
  }
  const text = (name: keyof typeof SPEC): string | undefined => flags[name] as string | undefined;
  const timeout = secondsFlag('--timeout', text('timeout'), 30);
  const countText = text('count');
  if (countText !== undefined && (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 1000)) {
    throw new UsageError(`--count: expected a whole number from 1 to 1000, got "${countText}"`);
  }
  const after = text('after') ?? '0';
  const match: MessageMatch = {};
  if (text('to') !== undefined) match.to = text('to');
  if (text('from') !== undefined) match.from = text('from');
  if (text('subject') !== undefined) match.subject = subjectArgument(text('subject')!);
  if (text('query') !== undefined) match.query = text('query');
  let client: MailroomClient;
  try {
    client = new MailroomClient({ url: apiUrl(text('api'), env), timeout, ...clientCredentials(flags, env) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const options = { ...match, timeout, after: after === '0' ? (0 as const) : after };
  try {
    const found = countText === undefined ? await client.waitForMessage(options) : await client.waitForMessages(Number(countText), options);
    await write(process.stdout, `${JSON.stringify(found, null, 2)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof MailroomTimeoutError || error instanceof MailroomError) {
      await write(process.stderr, `mailroom wait: ${error.message}\n`);
      // A query the server refused is a usage mistake too.
      return error.status === 400 ? EXIT.usage : EXIT.failed;
    }
    if (error instanceof TypeError && /query language/.test(error.message)) throw new UsageError(error.message);
    throw error;
  }
}
