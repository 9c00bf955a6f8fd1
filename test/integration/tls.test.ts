import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { startMailroom } from 'mailroom-catcher';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

describe('TLS', () => {
  it('offers STARTTLS and serves implicit TLS with --tls self-signed, recording the TLS flag', async () => {
    const mailroom = await mailroomForTest({ tls: 'self-signed', smtpsPort: 0 });
    const wire = await SmtpWire.open(mailroom.ports.smtp);
    await wire.reply();
    expect((await wire.command('EHLO tls.test')).lines).toContain('250-STARTTLS');
    wire.close();

    const starttls = nodemailer.createTransport({
      host: mailroom.host,
      port: mailroom.ports.smtp,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
    });
    const viaStarttls = await starttls.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'starttls', text: 'x' });
    const smtps = nodemailer.createTransport({
      host: mailroom.host,
      port: mailroom.ports.smtps!,
      secure: true,
      tls: { rejectUnauthorized: false },
    });
    const viaSmtps = await smtps.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'smtps', text: 'x' });
    for (const info of [viaStarttls, viaSmtps]) {
      const id = /queued as (\S+)/.exec(info.response)![1]!;
      expect((await api<{ smtp: { tls: boolean } }>(mailroom, `/api/messages/${id}`)).body.smtp.tls).toBe(true);
    }
    const plain = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true });
    const viaPlain = await plain.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'plain', text: 'x' });
    const id = /queued as (\S+)/.exec(viaPlain.response)![1]!;
    expect((await api<{ smtp: { tls: boolean } }>(mailroom, `/api/messages/${id}`)).body.smtp.tls).toBe(false);
    expect((await api<{ ports: object }>(mailroom, '/api/info')).body.ports).toStrictEqual({
      smtp: mailroom.ports.smtp,
      smtps: mailroom.ports.smtps,
      pop3: mailroom.ports.pop3,
      imap: mailroom.ports.imap,
      http: mailroom.ports.http,
    });
  });

  it('serves a certificate given as PEM files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailroom-tls-'));
    const pems = await generate([{ name: 'commonName', value: 'mail.test' }], { keyType: 'ec' });
    await writeFile(join(dir, 'cert.pem'), pems.cert);
    await writeFile(join(dir, 'key.pem'), pems.private);
    const mailroom = await mailroomForTest({ tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') }, smtpsPort: 0 });
    const subject = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: mailroom.ports.smtps!, rejectUnauthorized: false }, () => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(subject).toBe('mail.test');
  });

  it('refuses an unreadable certificate file naming the flag', async () => {
    await expect(startMailroom({ smtpPort: 0, httpPort: 0, pop3Port: 0, imapPort: 0, tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } })).rejects.toThrow(/^--tls-cert: cannot read/);
  });

  it('checks the certificate with openssl s_client as a client we did not write', async () => {
    const mailroom = await mailroomForTest({ tls: 'self-signed' });
    const openssl = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${mailroom.ports.smtp}`, '-starttls', 'smtp', '-brief'], { timeout: 10_000 });
    let stdout = '';
    openssl.stdout!.on('data', (chunk: string) => (stdout += chunk));
    openssl.stderr!.on('data', (chunk: string) => (stdout += chunk));
    // End of input makes s_client hang up once the handshake is done.
    openssl.stdin!.end();
    await new Promise((resolve) => openssl.once('close', resolve));
    expect(stdout).toContain('CONNECTION ESTABLISHED');
    expect(stdout).toContain('Protocol version: TLSv1.3');
  });
});
