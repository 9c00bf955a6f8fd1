import { startMailroom, type Mailroom, type MailroomOptions } from 'mailroom-catcher';
import { afterAll } from 'vitest';

/** A Mailroom on free ports for one test file, closed after it. */
export async function useMailroom(options: MailroomOptions = {}): Promise<Mailroom> {
  const mailroom = await startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, logLevel: 'silent', ...options });
  afterAll(() => mailroom.close());
  return mailroom;
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
