import { readFile } from 'node:fs/promises';
import { generate } from 'selfsigned';
import { ConfigError, type TlsSetting } from './config.js';

export interface TlsMaterial {
  key: string;
  cert: string;
}

/** Reads or generates the certificate that SMTP (and later POP3 and IMAP) share. */
export async function loadTls(setting: TlsSetting): Promise<TlsMaterial | null> {
  if (setting === null) return null;
  if ('selfSigned' in setting) {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      // EC keys generate in milliseconds where RSA takes most of a second at start.
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    return { key: pems.private, cert: pems.cert };
  }
  // One after the other, so that with both unreadable the error always names the same flag.
  const cert = await readFile(setting.certFile, 'utf8').catch((error: Error) => {
    throw new ConfigError('--tls-cert', `cannot read ${setting.certFile}: ${error.message}`);
  });
  const key = await readFile(setting.keyFile, 'utf8').catch((error: Error) => {
    throw new ConfigError('--tls-key', `cannot read ${setting.keyFile}: ${error.message}`);
  });
  return { key, cert };
}
