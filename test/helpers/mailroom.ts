import { startMailroom, type Mailroom, type MailroomOptions } from 'mailroom-catcher';
import { afterAll, onTestFinished, TestRunner } from 'vitest';

/**
 * A Mailroom on free ports for the test file or describe block that calls it, closed after it.
 * Inside a test use mailroomForTest(): an afterAll registered there never runs.
 */
export async function useMailroom(options: MailroomOptions = {}): Promise<Mailroom> {
  const test = TestRunner.getCurrentTest();
  if (test) {
    throw new Error(`useMailroom() called inside the test "${test.name}", where its afterAll would never close it; use mailroomForTest() there`);
  }
  const mailroom = await start(options);
  afterAll(() => mailroom.close());
  return mailroom;
}

/** A Mailroom on free ports for the running test alone, closed when the test finishes. */
export async function mailroomForTest(options: MailroomOptions = {}): Promise<Mailroom> {
  if (!TestRunner.getCurrentTest()) {
    throw new Error('mailroomForTest() called outside a test; use useMailroom() at file or describe level');
  }
  let mailroom: Mailroom | undefined;
  // Registered before the await so that it binds to this test, not whichever is current once started.
  onTestFinished(() => mailroom?.close());
  mailroom = await start(options);
  return mailroom;
}

function start(options: MailroomOptions): Promise<Mailroom> {
  return startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent', ...options });
}

export async function api<T = unknown>(mailroom: Mailroom, path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(`${mailroom.apiUrl}${path}`, init);
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : await response.text();
  return { status: response.status, body: body as T, headers: response.headers };
}

export async function clearAll(mailroom: Mailroom): Promise<void> {
  await fetch(`${mailroom.apiUrl}/api/messages`, { method: 'DELETE' });
}
