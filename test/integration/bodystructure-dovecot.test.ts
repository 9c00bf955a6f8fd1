import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapBodyStructure } from '../../server/src/mime/bodystructure.js';
import { indexMessage } from '../../server/src/mime/part-index.js';
import { fetchEach, startDovecot, type Dovecot } from '../helpers/dovecot/dovecot.js';

const dir = fileURLToPath(new URL('../fixtures/mime/', import.meta.url));
const names = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();
const messages = names.map((name) => readFileSync(dir + name));

let dovecot: Dovecot;
let reference: { bodystructure: string[]; body: string[] };

beforeAll(async () => {
  dovecot = await startDovecot(messages);
  reference = { bodystructure: await fetchEach(dovecot, 'BODYSTRUCTURE'), body: await fetchEach(dovecot, 'BODY') };
});
afterAll(() => dovecot?.stop());

describe('BODYSTRUCTURE and BODY equal Dovecot for every fixture', () => {
  it.each(names.map((name, i) => [name, i] as const))('%s', (_name, i) => {
    const raw = messages[i]!;
    const { root } = indexMessage(raw);
    const seq = i + 1;
    expect(`* ${seq} FETCH (BODYSTRUCTURE (${imapBodyStructure(raw, root, true)}))`).toBe(reference.bodystructure[i]);
    expect(`* ${seq} FETCH (BODY (${imapBodyStructure(raw, root, false)}))`).toBe(reference.body[i]);
  });
});
