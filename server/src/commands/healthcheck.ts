import { MailroomClient } from '../client/index.js';
import { apiUrl, clientCredentials, CREDENTIAL_FLAGS, credentialsHelp, EXIT, readFlags, secondsFlag, write } from './args.js';

export const healthcheckHelp = `Usage: mailroom healthcheck [--api URL] [--wait SECONDS] [--api-token TOKEN | --api-auth USER:PASS]

Asks Mailroom whether every listener accepts connections (GET /api/health), for
Docker's HEALTHCHECK and CI service health checks.

  --api URL       Mailroom's HTTP address [MAILROOM_API] (default: the one in
                  MAILROOM_READY_FILE, else http://127.0.0.1 on MAILROOM_HTTP_PORT or 8025)
  --wait SECONDS  keep asking until ready, at most this long (default 0: ask once)
${credentialsHelp}
                  (/api/health answers without them; they are checked when given)

Exit status: 0 ready, 1 not ready or unreachable, 2 bad usage.
`;

/** Each attempt gets this long; Docker's own health-check timeout is usually a few seconds. */
const ATTEMPT_MS = 3000;
const RETRY_MS = 200;

export async function healthcheckCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = readFlags(argv, { api: { type: 'string' }, wait: { type: 'string' }, ...CREDENTIAL_FLAGS });
  if (flags.help) {
    await write(process.stdout, healthcheckHelp);
    return EXIT.ok;
  }
  const url = apiUrl(flags.api as string | undefined, env);
  const deadline = Date.now() + secondsFlag('--wait', flags.wait as string | undefined, 0);
  const client = new MailroomClient({ url, ...clientCredentials(flags, env) });
  for (;;) {
    const ready = await client.health({ signal: AbortSignal.timeout(ATTEMPT_MS) }).catch(() => false);
    if (ready) {
      await write(process.stdout, `mailroom is ready at ${client.url}\n`);
      return EXIT.ok;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    // The last attempt falls on the deadline, so --wait N means at least N seconds of trying.
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, left)));
  }
  await write(process.stderr, `mailroom healthcheck: not ready at ${client.url}\n`);
  return EXIT.failed;
}
