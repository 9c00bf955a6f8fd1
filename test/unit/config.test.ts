import { describe, expect, it } from 'vitest';
import { ConfigError, parseSize, resolveConfig, settingsFromEnv } from '../../server/src/config.js';

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
    });
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
