import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { whileProbing } from '../helpers/latency-probe.js';
import { useMailroom } from '../helpers/mailroom.js';

const mailroom = await useMailroom();

async function session(user: string): Promise<ImapWire> {
  const wire = await ImapWire.open(mailroom.ports.imap);
  await wire.command('l', `LOGIN ${user} pw`);
  return wire;
}

/** A command's reply lines, once it has been answered within 500 ms and health requests never waited 150 ms meanwhile. */
async function answered(wire: ImapWire, tag: string, command: string): Promise<string[]> {
  const { result, ms, maxLatency } = await whileProbing(mailroom, () => wire.command(tag, command));
  expect(ms).toBeLessThan(500);
  expect(maxLatency).toBeLessThan(150);
  return result;
}

/** The security review's pattern: with a backtracking matcher, each more `*%` multiplies the time. */
const REVIEW = '*%*%*%*%*%*%*%*%*%*%*a';
const SHORT = 'x'.repeat(18);
/** CREATE takes names of up to 1024 bytes. */
const LONG = 'y'.repeat(1024);
const SPLIT = `${'y'.repeat(500)}/${'y'.repeat(500)}`;

describe('LIST and LSUB patterns that make a backtracking matcher run for ever', () => {
  it('answers LIST with the review pattern and 10,000-character patterns at once, the rest of Mailroom staying responsive', async () => {
    const wire = await session('lister');
    expect(await wire.command('a', `CREATE ${SHORT}`)).toStrictEqual(['a OK CREATE completed']);
    expect(await wire.command('b', `CREATE ${LONG}`)).toStrictEqual(['b OK CREATE completed']);
    expect(await wire.command('c', `CREATE y${LONG}`)).toStrictEqual(['c NO [CANNOT] Invalid mailbox name']);
    expect(await wire.command('d', `CREATE ${SPLIT}`)).toStrictEqual(['d OK CREATE completed']);

    expect(await answered(wire, 'e', `LIST "" "${REVIEW}"`)).toStrictEqual(['e OK LIST completed']);
    // The same ending in x: INBOX matches however the pattern spells it.
    expect(await answered(wire, 'f', `LIST "" "${REVIEW.slice(0, -1)}x"`)).toStrictEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      `* LIST (\\HasNoChildren) "/" ${SHORT}`,
      'f OK LIST completed',
    ]);

    const stars = `${'*%'.repeat(4999)}*y`;
    expect(stars).toHaveLength(10_000);
    expect(await answered(wire, 'g', `LIST "" {${stars.length}+}\r\n${stars}`)).toStrictEqual([
      `* LIST (\\HasChildren) "/" ${'y'.repeat(500)}`,
      `* LIST (\\HasNoChildren) "/" ${SPLIT}`,
      `* LIST (\\HasNoChildren) "/" ${LONG}`,
      'g OK LIST completed',
    ]);

    // `%` cannot cross the delimiter, so each `%y` may end anywhere in its level: no shortcut but the automaton.
    const levels = `${`${'%'.repeat(11)}y`.repeat(400)}%/${`${'%'.repeat(11)}y`.repeat(400)}${'%'.repeat(398)}`;
    expect(levels).toHaveLength(10_000);
    expect(await answered(wire, 'h', `LIST "" "${levels}"`)).toStrictEqual([`* LIST (\\HasNoChildren) "/" ${SPLIT}`, 'h OK LIST completed']);
    // Without the `/`, a backtracking matcher tries every split of 1024 y's into 400 parts before failing.
    expect(await answered(wire, 'i', `LIST "" "${levels.replace('/', '')}"`)).toStrictEqual([
      `* LIST (\\HasNoChildren) "/" ${LONG}`,
      'i OK LIST completed',
    ]);
    await wire.close();
  });

  it('answers LSUB with such patterns too, listing the unsubscribed parents that match as \\Noselect', async () => {
    const wire = await session('subscriber');
    // SUBSCRIBE takes any name of up to 1024 octets, existing or not.
    const deep = `${'z'.repeat(600)}/${'z'.repeat(423)}`;
    expect(await wire.command('a0', `SUBSCRIBE z${deep}`)).toStrictEqual(['a0 NO [LIMIT] Mailbox names are at most 1024 octets']);
    expect(await wire.command('a', `SUBSCRIBE ${deep}`)).toStrictEqual(['a OK SUBSCRIBE completed']);
    expect(await answered(wire, 'b', `LSUB "" "${REVIEW}"`)).toStrictEqual(['b OK LSUB completed']);
    // RFC 3501 §6.3.9: `%` stops at the delimiter, so the name does not match but its parent does.
    expect(await answered(wire, 'c', 'LSUB "" "%z%z%z%z%z%z%z%z%z%z%"')).toStrictEqual([`* LSUB (\\Noselect) "/" ${'z'.repeat(600)}`, 'c OK LSUB completed']);
    const stars = `${'*%'.repeat(4999)}*z`;
    expect(await answered(wire, 'd', `LSUB "" {${stars.length}+}\r\n${stars}`)).toStrictEqual([`* LSUB (\\Noselect) "/" ${deep}`, 'd OK LSUB completed']);
    expect(await answered(wire, 'e', `LSUB "" "${REVIEW.slice(0, -1)}x"`)).toStrictEqual(['* LSUB () "/" INBOX', 'e OK LSUB completed']);
    // An unsubscribed INBOX above a subscribed name matches however the pattern spells it.
    expect(await wire.command('f', 'UNSUBSCRIBE INBOX')).toStrictEqual(['f OK UNSUBSCRIBE completed']);
    expect(await wire.command('g', 'SUBSCRIBE inbox/zz')).toStrictEqual(['g OK SUBSCRIBE completed']);
    expect(await answered(wire, 'h', 'LSUB "" iNbOx')).toStrictEqual(['* LSUB (\\Noselect) "/" INBOX', 'h OK LSUB completed']);
    expect(await answered(wire, 'i', 'LSUB "" I%')).toStrictEqual(['* LSUB (\\Noselect) "/" INBOX', 'i OK LSUB completed']);
    expect(await answered(wire, 'j', 'LSUB "" inbox/Z%')).toStrictEqual(['j OK LSUB completed']);
    expect(await answered(wire, 'k', 'LSUB "" inbox/%')).toStrictEqual(['* LSUB (\\Noselect) "/" INBOX/zz', 'k OK LSUB completed']);
    await wire.close();
  });
});
