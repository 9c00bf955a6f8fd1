import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, argumentOptions, helpText, parseSize, resolveConfig, settingName, settingsFromArguments, settingsFromEnv } from '../../server/src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(resolveConfig({})).toStrictEqual({
      listen: '127.0.0.1',
      smtpPort: 1025,
      smtpsPort: null,
      httpPort: 8025,
      pop3Port: 1110,
      pop3sPort: null,
      pop3Auth: null,
      pop3IdleSeconds: 600,
      pop2Port: null,
      imapPort: 1143,
      imapsPort: null,
      imapAuth: null,
      imapIdleSeconds: 1800,
      maxMessages: 10000,
      maxStoreBytes: 512 * 1024 * 1024,
      maxMessageSize: 25 * 1024 * 1024,
      maxIngestBytes: 128 * 1024 * 1024,
      smtpReject: [],
      tls: null,
      logLevel: 'info',
      apiCors: [],
      allowedHosts: [],
      uiAuth: null,
      apiToken: null,
      smtpAuth: null,
      maxConnections: 1000,
      maxConnectionsPerIp: 250,
      smtpTimeoutSeconds: 60,
      smtpDataTimeoutSeconds: 600,
      readyFile: null,
      compat: 'mailpit',
      autoTags: new Set(['x-tags', 'plus-addresses']),
      smtpRelay: null,
      dataDir: null,
    });
  });

  it('keeps the mail in memory unless --data-dir or MAILROOM_DATA_DIR names a directory', () => {
    expect(resolveConfig(settingsFromArguments({ 'data-dir': './mail' })).dataDir).toBe('./mail');
    expect(resolveConfig(settingsFromEnv({ MAILROOM_DATA_DIR: '/var/lib/mailroom' })).dataDir).toBe('/var/lib/mailroom');
    expect(resolveConfig(settingsFromEnv({ MAILROOM_DATA_DIR: '' })).dataDir).toBeNull();
  });

  it('reads --api-cors as * or origins, and refuses anything else', () => {
    expect(resolveConfig({ apiCors: 'http://localhost:3000, https://app.test' }).apiCors).toStrictEqual(['http://localhost:3000', 'https://app.test']);
    expect(resolveConfig({ apiCors: '*' }).apiCors).toStrictEqual(['*']);
    for (const bad of ['localhost:3000', 'http://app.test/path', 'ftp://x']) {
      expect(() => resolveConfig({ apiCors: bad }), bad).toThrow(new ConfigError('--api-cors', `expected * or origins like http://localhost:3000, got "${bad}"`));
    }
  });

  it.each([
    ['1048576', 1048576],
    ['512KiB', 512 * 1024],
    ['512kb', 512_000],
    ['25MiB', 25 * 1024 * 1024],
    ['1.5G', 1.5 * 1024 ** 3],
    ['2 GB', 2e9],
  ])('reads the size %s', (text, bytes) => {
    expect(parseSize('--x', text)).toBe(bytes);
  });

  it.each(['', 'MiB', '-1', '0', '1e3', '12 parsecs'])('refuses the size %j', (text) => {
    expect(() => parseSize('--max-store-bytes', text)).toThrow(ConfigError);
  });

  it('reads environment variables and ignores empty ones', () => {
    expect(settingsFromEnv({ MAILROOM_SMTP_PORT: '2525', MAILROOM_LISTEN: '', OTHER: 'x' })).toStrictEqual({ smtpPort: '2525' });
  });

  it('accepts IPv6 and host names for --listen', () => {
    expect(resolveConfig({ listen: '::' }).listen).toBe('::');
    expect(resolveConfig({ listen: 'mailroom.local' }).listen).toBe('mailroom.local');
    expect(() => resolveConfig({ listen: '-bad-' })).toThrow('--listen: expected an IP address or host name, got "-bad-"');
  });

  it('turns TLS settings into one choice', () => {
    expect(resolveConfig({ tls: 'self-signed', smtpsPort: '465' })).toMatchObject({ tls: { selfSigned: true }, smtpsPort: 465 });
    expect(resolveConfig({ tlsCert: 'c.pem', tlsKey: 'k.pem' }).tls).toStrictEqual({ certFile: 'c.pem', keyFile: 'k.pem' });
    expect(() => resolveConfig({ tls: 'self-signed', tlsCert: 'c.pem' })).toThrow('--tls: use either');
  });
});

describe('SMTP relay options', () => {
  const relay = (settings: Parameters<typeof resolveConfig>[0]) => resolveConfig(settings).smtpRelay;

  it('reads --smtp-relay as HOST:PORT, port 25 when left out, with the defaults of its companions', () => {
    expect(relay({ smtpRelay: 'smtp.example.test:587' })).toStrictEqual({
      host: 'smtp.example.test',
      port: 587,
      security: 'auto',
      insecure: false,
      auth: null,
      returnPath: null,
      preserveMessageIds: false,
    });
    expect(relay({ smtpRelay: 'smtp.example.test' })).toMatchObject({ host: 'smtp.example.test', port: 25 });
    expect(relay({ smtpRelay: '[::1]:2525' })).toMatchObject({ host: '::1', port: 2525 });
    expect(relay({ smtpRelay: '10.0.0.7:465' })).toMatchObject({ host: '10.0.0.7', port: 465 });
    for (const bad of ['', 'smtp example:25', '::1:25', 'smtp.example.test:', 'smtp.example.test:x', '[smtp.example.test]:25', 'http://smtp.example.test']) {
      expect(() => relay({ smtpRelay: bad }), bad).toThrow(new ConfigError('--smtp-relay', `expected HOST:PORT such as smtp.example.test:587, got "${bad}"`));
    }
    expect(() => relay({ smtpRelay: 'smtp.example.test:0' })).toThrow(new ConfigError('--smtp-relay', 'expected a port number from 1 to 65535, got "0"'));
    expect(() => relay({ smtpRelay: 'smtp.example.test:65536' })).toThrow(new ConfigError('--smtp-relay', 'expected a port number from 1 to 65535, got "65536"'));
  });

  it('takes a login, TLS mode, switches and a return path', () => {
    expect(
      relay({
        smtpRelay: 'smtp.example.test:587',
        smtpRelayUser: 'mailer',
        smtpRelayPassword: 'pa:ss word',
        smtpRelayTls: 'STARTTLS',
        smtpRelayInsecure: 'yes',
        smtpRelayReturnPath: 'bounces@example.test',
        smtpRelayPreserveMessageIds: '1',
      }),
    ).toStrictEqual({
      host: 'smtp.example.test',
      port: 587,
      security: 'starttls',
      insecure: true,
      auth: { user: 'mailer', pass: 'pa:ss word' },
      returnPath: 'bounces@example.test',
      preserveMessageIds: true,
    });
    for (const [text, value] of [['true', true], ['on', true], ['FALSE', false], ['0', false], ['no', false]] as const) {
      expect(relay({ smtpRelay: 'h', smtpRelayInsecure: text })?.insecure, text).toBe(value);
    }
    expect(() => relay({ smtpRelay: 'h', smtpRelayInsecure: 'maybe' })).toThrow(new ConfigError('--smtp-relay-insecure', 'expected true or false, got "maybe"'));
    expect(() => relay({ smtpRelay: 'h', smtpRelayTls: 'ssl' })).toThrow(new ConfigError('--smtp-relay-tls', 'expected auto, starttls, tls, none, got "ssl"'));
    expect(() => relay({ smtpRelay: 'h', smtpRelayReturnPath: 'Bounces <b@example.test>' })).toThrow(
      new ConfigError('--smtp-relay-return-path', 'expected an address such as bounces@example.test, got "Bounces <b@example.test>"'),
    );
  });

  it('reads the password from @file without its final line break', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mailroom-relay-')), 'password');
    writeFileSync(file, ' secret with spaces \n');
    expect(relay({ smtpRelay: 'h', smtpRelayUser: 'u', smtpRelayPassword: `@${file}` })?.auth).toStrictEqual({ user: 'u', pass: ' secret with spaces ' });
    expect(() => relay({ smtpRelay: 'h', smtpRelayUser: 'u', smtpRelayPassword: `@${file}.missing` })).toThrow(/^--smtp-relay-password: cannot read /);
    writeFileSync(file, '\n');
    expect(() => relay({ smtpRelay: 'h', smtpRelayUser: 'u', smtpRelayPassword: `@${file}` })).toThrow(new ConfigError('--smtp-relay-password', 'is empty'));
  });

  it('refuses a companion without --smtp-relay, and a user without a password or the other way round', () => {
    expect(() => resolveConfig({ smtpRelayUser: 'u' })).toThrow(new ConfigError('--smtp-relay-user', 'needs --smtp-relay'));
    expect(() => resolveConfig({ smtpRelayInsecure: 'true' })).toThrow(new ConfigError('--smtp-relay-insecure', 'needs --smtp-relay'));
    expect(() => relay({ smtpRelay: 'h', smtpRelayUser: 'u' })).toThrow(new ConfigError('--smtp-relay-password', 'required with --smtp-relay-user'));
    expect(() => relay({ smtpRelay: 'h', smtpRelayPassword: 'p' })).toThrow(new ConfigError('--smtp-relay-user', 'required with --smtp-relay-password'));
  });

  it('takes the switches as bare flags and names the variable a bad value came from', () => {
    const argv = ['--smtp-relay', 'smtp.example.test:587', '--smtp-relay-insecure', '--smtp-relay-preserve-message-ids'];
    const fromArguments = settingsFromArguments(parseArgs({ args: argv, options: argumentOptions(), strict: true }).values);
    expect(fromArguments).toStrictEqual({ smtpRelay: 'smtp.example.test:587', smtpRelayInsecure: 'true', smtpRelayPreserveMessageIds: 'true' });
    expect(() => parseArgs({ args: ['--smtp-relay-insecure=false'], options: argumentOptions(), strict: true })).toThrow(/does not take an argument/);
    const fromEnv = settingsFromEnv({ MAILROOM_SMTP_RELAY: 'h', MAILROOM_SMTP_RELAY_PASSWORD: 'secret', MAILROOM_SMTP_RELAY_INSECURE: 'true' });
    expect(fromEnv).toStrictEqual({ smtpRelay: 'h', smtpRelayPassword: 'secret', smtpRelayInsecure: 'true' });
    expect(settingName('--smtp-relay-password', {}, fromEnv)).toBe('MAILROOM_SMTP_RELAY_PASSWORD');
    expect(helpText('1.0.0')).toMatch(/^ {2}--smtp-relay-insecure {2,}accept the relay's certificate unchecked, such as a self-signed one \[MAILROOM_SMTP_RELAY_INSECURE\]$/m);
    expect(helpText('1.0.0')).toMatch(/^ {2}--smtp-relay HOST:PORT {2,}SMTP server that released messages go to/m);
  });
});
