import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, argumentOptions, resolveConfig, settingsFromArguments, settingsFromEnv } from '../../server/src/config.js';
import { RuleError, SmtpRuleSet, checkRule, formatRule, parseRule, splitRules, type SmtpRule } from '../../server/src/smtp/reject-rules.js';

const bounce: SmtpRule = { on: 'rcpt', match: '*@bounce.test', reply: { code: 550, text: 'No such user here' } };

/** A random source that hands out these numbers in turn and counts the draws. */
function sequence(...numbers: number[]): { random: () => number; draws: () => number } {
  let i = 0;
  return { random: () => numbers[i++ % numbers.length]!, draws: () => i };
}

describe('reject rule text form', () => {
  it.each<[string, SmtpRule]>([
    ['rcpt:*@bounce.test=550 No such user here', bounce],
    ['RCPT:*@Bounce.test=550 No such user here', { ...bounce, match: '*@Bounce.test' }],
    ['mail:<>=553 No bounces please', { on: 'mail', match: '<>', reply: { code: 553, text: 'No bounces please' } }],
    ['mail:*@spam.test=451 Try again later', { on: 'mail', match: '*@spam.test', reply: { code: 451, text: 'Try again later' } }],
    ['size:>1MB=552 Message too big', { on: 'size', match: '>1MB', reply: { code: 552, text: 'Message too big' } }],
    ['size:>=100=552 x', { on: 'size', match: '>=100', reply: { code: 552, text: 'x' } }],
    ['data:*@spam.test=554 Transaction failed; looks like spam', { on: 'data', match: '*@spam.test', reply: { code: 554, text: 'Transaction failed; looks like spam' } }],
    ['delay:rcpt:*@slow.test=5000', { on: 'rcpt', match: '*@slow.test', delay: 5000 }],
    ['delay:data:*=300ms 451 Timed out', { on: 'data', match: '*', delay: 300, reply: { code: 451, text: 'Timed out' } }],
    ['delay:size:>=1000=3000', { on: 'size', match: '>=1000', delay: 3000 }],
    ['25%:mail:*@flaky.test=451 Try again later', { on: 'mail', match: '*@flaky.test', reply: { code: 451, text: 'Try again later' }, probability: 0.25 }],
    ['delay:12.5%:rcpt:?@x.test=100', { on: 'rcpt', match: '?@x.test', delay: 100, probability: 0.125 }],
    ['rcpt:SRS0=ab=cd@x.test=550 No', { on: 'rcpt', match: 'SRS0=ab=cd@x.test', reply: { code: 550, text: 'No' } }],
    ['  rcpt:a@b.test=421 Closing  ', { on: 'rcpt', match: 'a@b.test', reply: { code: 421, text: 'Closing' } }],
    ['connect:192.0.2.*=421 Too busy', { on: 'connect', match: '192.0.2.*', reply: { code: 421, text: 'Too busy' } }],
    ['1%:CONNECT:*=disconnect', { on: 'connect', match: '*', disconnect: true, probability: 0.01 }],
    ['delay:connect:*=2000', { on: 'connect', match: '*', delay: 2000 }],
    ['auth:test-*=535 Authentication failed', { on: 'auth', match: 'test-*', reply: { code: 535, text: 'Authentication failed' } }],
    ['mail:*=Disconnect', { on: 'mail', match: '*', disconnect: true }],
    ['rcpt:a=disconnect@x.test=550 No', { on: 'rcpt', match: 'a=disconnect@x.test', reply: { code: 550, text: 'No' } }],
    ['rcpt:x=550 Gone=disconnect', { on: 'rcpt', match: 'x', reply: { code: 550, text: 'Gone=disconnect' } }],
    ['delay:data:*=300 disconnect', { on: 'data', match: '*', delay: 300, disconnect: true }],
    ['5%:delay:size:>1MB=10ms DISCONNECT', { on: 'size', match: '>1MB', delay: 10, disconnect: true, probability: 0.05 }],
  ])('reads %j', (text, rule) => {
    expect(parseRule(text)).toStrictEqual(rule);
    // Written back and read again, the rule is the same.
    expect(parseRule(formatRule(rule))).toStrictEqual(rule);
  });

  it('writes rules in the canonical form', () => {
    expect(formatRule(bounce)).toBe('rcpt:*@bounce.test=550 No such user here');
    expect(formatRule({ on: 'data', match: '*', delay: 300, reply: { code: 451, text: 'Timed out' }, probability: 0.3 })).toBe('30%:delay:data:*=300 451 Timed out');
    expect(formatRule({ on: 'rcpt', match: '*@slow.test', delay: 5000 })).toBe('delay:rcpt:*@slow.test=5000');
    expect(formatRule({ on: 'connect', match: '*', disconnect: true, probability: 0.01 })).toBe('1%:connect:*=disconnect');
    expect(formatRule({ on: 'data', match: '*', disconnect: true, delay: 5 })).toBe('delay:data:*=5 disconnect');
    // The origin is no part of the text form.
    expect(formatRule({ on: 'auth', match: '*', reply: { code: 535, text: 'Chaos authentication error' }, origin: 'mailpit-chaos' })).toBe('auth:*=535 Chaos authentication error');
  });

  it.each([
    ['rcpt:*@x.test=250 OK', 'the reply code must be from 400 to 599, got 250'],
    ['rcpt:*@x.test=600 Odd', 'the reply code must be from 400 to 599, got 600'],
    ['rcpt:*@x.test=550', 'expected rcpt:MATCH=CODE TEXT or rcpt:MATCH=disconnect, such as rcpt:*@bounce.test=550 No such user here'],
    ['rcpt:*@x.test', 'expected rcpt:MATCH=CODE TEXT'],
    ['size:1MB', 'expected size:MATCH=CODE TEXT or size:MATCH=disconnect, such as size:>1MB=552 Message too big'],
    ['connect:*', 'expected connect:MATCH=CODE TEXT or connect:MATCH=disconnect, such as connect:*=421 Too busy'],
    ['auth:*=disconnected', 'such as auth:*=535 Authentication failed'],
    ['helo:*=550 x', 'expected [N%:][delay:]STAGE:MATCH=ACTION with STAGE connect, auth, mail, rcpt, data or size'],
    ['connect:<>=421 x', '<> is the null sender, which connect rules never see: use * for any client'],
    ['auth:<>=535 x', '<> is the null sender, which auth rules never see: use * for any user name'],
    ['*@x.test=550 x', 'expected [N%:][delay:]STAGE:MATCH=ACTION'],
    ['rcpt:=550 x', 'the address pattern is empty'],
    ['rcpt:<a@x.test>=550 x', 'contains < or >: write the address without brackets'],
    ['rcpt:a b@x.test=550 x', 'contains a space or control character'],
    ['size:>lots=552 x', 'expected a size threshold such as >1MB, >=512KiB or 1048576, got ">lots"'],
    ['size:<1MB=552 x', 'expected a size threshold'],
    ['150%:rcpt:*=550 x', 'the chance must be from 0% to 100%, got 150%'],
    ['5%:5%:rcpt:*=550 x', 'the chance N% is given twice'],
    ['delay:delay:rcpt:*=5', 'delay: is given twice'],
    ['delay:rcpt:*=70000', 'the delay must be a whole number of milliseconds from 0 to 60000, got 70000'],
    ['delay:rcpt:*=soon', 'expected rcpt:MATCH=MS, rcpt:MATCH=MS CODE TEXT or rcpt:MATCH=MS disconnect after delay:'],
    ['delay:rcpt:*=5 disconnect now', 'expected rcpt:MATCH=MS, rcpt:MATCH=MS CODE TEXT or rcpt:MATCH=MS disconnect after delay:'],
    ['delay:rcpt:*=10 250 Fine', 'the reply code must be from 400 to 599, got 250'],
    ['rcpt:*=550 5.1.1 No such user', 'the reply text starts with an enhanced status code ("5.1.1"): Mailroom adds the one for the reply code itself'],
    [`rcpt:*=550 ${'x'.repeat(513)}`, 'the reply text is longer than 512 characters'],
    ['rcpt:*=550 Grüße', 'the reply text may hold only printable ASCII'],
  ])('refuses %j', (text, message) => {
    expect(() => parseRule(text)).toThrow(RuleError);
    expect(() => parseRule(text)).toThrow(message);
  });

  it('takes a reply text of exactly 512 characters', () => {
    expect(parseRule(`rcpt:*=550 ${'x'.repeat(512)}`).reply!.text).toHaveLength(512);
  });

  it('splits lists at newlines and at a ";" that starts the next rule', () => {
    expect(splitRules('rcpt:*@a.test=550 A\r\nrcpt:*@b.test=550 B\n\n')).toStrictEqual(['rcpt:*@a.test=550 A', 'rcpt:*@b.test=550 B']);
    expect(splitRules('rcpt:*@a.test=550 No; really not; delay:mail:*=5;25%:size:>1MB=552 Big ;')).toStrictEqual([
      'rcpt:*@a.test=550 No; really not',
      'delay:mail:*=5',
      '25%:size:>1MB=552 Big',
    ]);
    expect(splitRules('connect:*=disconnect;auth:*=535 No; not you;mail:*=451 Later')).toStrictEqual(['connect:*=disconnect', 'auth:*=535 No; not you', 'mail:*=451 Later']);
    expect(splitRules('  ')).toStrictEqual([]);
  });
});

describe('reject rule objects', () => {
  it.each<[unknown, string]>([
    [{ on: 'rcpt', match: '*' }, 'the rule has neither a reply nor a delay'],
    [{ on: 'rcpt', match: '*', reply: { code: 550, text: 'a\r\n250 Ok' } }, 'no CR, LF or other control characters'],
    [{ on: 'rcpt', match: '*', reply: { code: 550, text: '' } }, 'the reply text is empty'],
    [{ on: 'rcpt', match: '*', reply: { code: 550.5, text: 'x' } }, 'the reply code must be from 400 to 599'],
    [{ on: 'rcpt', match: '*', delay: -1 }, 'the delay must be a whole number'],
    [{ on: 'rcpt', match: '*', delay: 1.5 }, 'the delay must be a whole number'],
    [{ on: 'rcpt', match: '*', delay: 1, probability: 1.5 }, 'the probability must be from 0 to 1, got 1.5'],
    [{ on: 'rcpt', match: '*', delay: 1, probability: Number.NaN }, 'the probability must be from 0 to 1'],
    [{ on: 'helo', match: '*', delay: 1 }, 'the stage must be one of connect, auth, mail, rcpt, data, size, got "helo"'],
    [{ on: 'rcpt', match: '*', disconnect: false }, 'the rule has neither a reply nor a delay'],
    [{ on: 'rcpt', match: '*', disconnect: 'yes' }, 'disconnect must be true or false, got yes'],
    [{ on: 'rcpt', match: '*', disconnect: true, reply: { code: 550, text: 'x' } }, 'the rule both replies and disconnects: give one of them'],
    [{ on: 'rcpt', match: '*', delay: 1, origin: 'someone' }, 'the origin must be one of mailpit-chaos, mailhog-jim, got "someone"'],
    [{ on: 'rcpt', match: 'x'.repeat(513), delay: 1 }, 'the match pattern is longer than 512 characters'],
  ])('refuses %j', (rule, message) => {
    expect(() => checkRule(rule as SmtpRule)).toThrow(message);
  });

  it('keeps only the known fields', () => {
    const input = { on: 'rcpt', match: '*', delay: 5, extra: true } as SmtpRule;
    expect(checkRule(input)).toStrictEqual({ on: 'rcpt', match: '*', delay: 5 });
  });
});

describe('SmtpRuleSet', () => {
  it('matches addresses by glob, case-insensitively, with * and ? and everything else literal', () => {
    const set = new SmtpRuleSet([{ on: 'rcpt', match: 'user?+tag@*.Example.test', reply: { code: 550, text: 'x' } }]);
    const hit = (address: string): boolean => set.decide({ on: 'rcpt', address }) !== null;
    expect(hit('user1+tag@mail.example.test')).toBe(true);
    expect(hit('USER1+TAG@A.B.EXAMPLE.TEST')).toBe(true);
    expect(hit('user+tag@mail.example.test')).toBe(false);
    expect(hit('user12+tag@mail.example.test')).toBe(false);
    expect(hit('user1tag@mail.example.test')).toBe(false);
    expect(hit('user1+tag@mailxexample.test')).toBe(false);
    expect(hit('user1+tag@.example.test.org')).toBe(false);
  });

  it('matches the null sender with <> only, and with *', () => {
    const set = new SmtpRuleSet([
      { on: 'mail', match: '<>', reply: { code: 553, text: 'No bounces' } },
      { on: 'mail', match: '*', delay: 10 },
    ]);
    expect(set.decide({ on: 'mail', address: '' })?.reply).toStrictEqual({ code: 553, text: 'No bounces' });
    expect(set.decide({ on: 'mail', address: 'a@x.test' })).toStrictEqual({ rule: { on: 'mail', match: '*', delay: 10 }, reply: null, disconnect: false, delay: 10 });
  });

  it('applies each rule at its own stage only', () => {
    const set = new SmtpRuleSet([
      { on: 'mail', match: '*@x.test', reply: { code: 551, text: 'mail' } },
      { on: 'rcpt', match: '*@x.test', reply: { code: 552, text: 'rcpt' } },
      { on: 'data', match: '*@x.test', reply: { code: 554, text: 'data' } },
    ]);
    expect(set.decide({ on: 'mail', address: 'a@x.test' })?.reply?.text).toBe('mail');
    expect(set.decide({ on: 'rcpt', address: 'a@x.test' })?.reply?.text).toBe('rcpt');
    expect(set.decide({ on: 'data', size: 10, recipients: ['a@y.test', 'b@X.test'] })?.reply?.text).toBe('data');
    expect(set.decide({ on: 'data', size: 10, recipients: ['a@y.test'] })).toBeNull();
  });

  it('compares sizes with > and >=, a bare size meaning >', () => {
    const decides = (match: string, size: number): boolean =>
      new SmtpRuleSet([{ on: 'size', match, reply: { code: 552, text: 'big' } }]).decide({ on: 'data', size, recipients: ['a@x.test'] }) !== null;
    expect([decides('>1KB', 1000), decides('>1KB', 1001)]).toStrictEqual([false, true]);
    expect([decides('>=1KiB', 1023), decides('>=1KiB', 1024)]).toStrictEqual([false, true]);
    expect([decides('2048', 2048), decides('2048', 2049)]).toStrictEqual([false, true]);
    expect([decides('> 1.5MiB', 1.5 * 1024 * 1024), decides('>0', 1)]).toStrictEqual([false, true]);
  });

  it('lets the first matching rule decide', () => {
    const set = new SmtpRuleSet([
      { on: 'rcpt', match: 'postmaster@bounce.test', delay: 0 },
      bounce,
      { on: 'rcpt', match: '*', reply: { code: 451, text: 'later' } },
    ]);
    expect(set.decide({ on: 'rcpt', address: 'postmaster@bounce.test' })).toStrictEqual({
      rule: { on: 'rcpt', match: 'postmaster@bounce.test', delay: 0 },
      reply: null,
      disconnect: false,
      delay: 0,
    });
    expect(set.decide({ on: 'rcpt', address: 'x@bounce.test' })?.reply?.code).toBe(550);
    expect(set.decide({ on: 'rcpt', address: 'x@other.test' })?.reply?.code).toBe(451);
  });

  it('applies a rule with a probability when the random number falls below it, else tries the next', () => {
    const { random, draws } = sequence(0.1, 0.5, 0.49, 0.9);
    const set = new SmtpRuleSet([{ ...bounce, probability: 0.5 }, { on: 'rcpt', match: '*', delay: 7 }], random);
    const codes = Array.from({ length: 4 }, () => set.decide({ on: 'rcpt', address: 'a@bounce.test' })?.reply?.code ?? 'next');
    expect(codes).toStrictEqual([550, 'next', 550, 'next']);
    expect(draws()).toBe(4);
  });

  it('never draws for probability 0 or 1', () => {
    const { random, draws } = sequence(0);
    const never = new SmtpRuleSet([{ ...bounce, probability: 0 }], random);
    const always = new SmtpRuleSet([{ ...bounce, probability: 1 }], random);
    for (let i = 0; i < 20; i++) {
      expect(never.decide({ on: 'rcpt', address: 'a@bounce.test' })).toBeNull();
      expect(always.decide({ on: 'rcpt', address: 'a@bounce.test' })?.reply?.code).toBe(550);
    }
    expect(draws()).toBe(0);
  });

  it('replaces all rules or none', () => {
    const set = new SmtpRuleSet([bounce]);
    const bad = [{ on: 'mail', match: '*', delay: 1 }, { on: 'rcpt', match: '<x@y>', delay: 1 }] as SmtpRule[];
    expect(() => set.replace(bad)).toThrow(expect.objectContaining({ index: 1, message: expect.stringContaining('contains < or >') }));
    expect(set.rules).toStrictEqual([bounce]);
    expect(() => set.replace(Array.from({ length: 1001 }, () => bounce))).toThrow('at most 1000 rules, got 1001');
    set.replace([]);
    expect(set.rules).toStrictEqual([]);
    expect(set.decide({ on: 'rcpt', address: 'a@bounce.test' })).toBeNull();
  });

  it('matches connect rules against the client address and auth rules against the user name', () => {
    const set = new SmtpRuleSet([
      { on: 'connect', match: '192.0.2.?', reply: { code: 554, text: 'Go away' } },
      { on: 'auth', match: 'test-*', disconnect: true },
    ]);
    expect(set.decide({ on: 'connect', address: '192.0.2.7' })?.reply).toStrictEqual({ code: 554, text: 'Go away' });
    expect(set.decide({ on: 'connect', address: '192.0.2.77' })).toBeNull();
    expect(set.decide({ on: 'auth', user: 'TEST-ann' })).toStrictEqual({ rule: { on: 'auth', match: 'test-*', disconnect: true }, reply: null, disconnect: true, delay: 0 });
    expect(set.decide({ on: 'auth', user: 'ann' })).toBeNull();
    // Each at its own stage only: an address is never a user name, nor a client address a sender.
    expect(set.decide({ on: 'mail', address: '192.0.2.7' })).toBeNull();
    expect(set.decide({ on: 'rcpt', address: 'test-x' })).toBeNull();
  });

  it('keeps each origin’s rules apart, trying theirs before the user’s', () => {
    const set = new SmtpRuleSet([bounce]);
    const chaos: SmtpRule = { on: 'rcpt', match: '*', reply: { code: 451, text: 'Chaos recipient error' }, probability: 0.5 };
    const jim: SmtpRule = { on: 'rcpt', match: '*', disconnect: true, probability: 0.5 };
    set.replace([jim], 'mailhog-jim');
    set.replace([chaos], 'mailpit-chaos');
    expect(set.rules).toStrictEqual([{ ...chaos, origin: 'mailpit-chaos' }, { ...jim, origin: 'mailhog-jim' }, bounce]);
    expect(set.rulesOf('mailhog-jim')).toStrictEqual([{ ...jim, origin: 'mailhog-jim' }]);
    expect(set.rulesOf()).toStrictEqual([bounce]);

    // Replacing one group leaves the others; an empty list removes it.
    set.replace([]);
    set.replace([], 'mailhog-jim');
    expect(set.rules).toStrictEqual([{ ...chaos, origin: 'mailpit-chaos' }]);
    // Rules may come back carrying their own origin, but never another's.
    set.replace(set.rulesOf('mailpit-chaos'), 'mailpit-chaos');
    expect(() => set.replace([{ ...chaos, origin: 'mailpit-chaos' }])).toThrow(
      expect.objectContaining({ index: 0, message: "the rule with origin mailpit-chaos belongs to Mailpit's chaos triggers (PUT /api/v1/chaos) and changes there only: leave it out" }),
    );
    expect(() => set.replace([bounce, { ...jim, origin: 'mailhog-jim' }], 'mailpit-chaos')).toThrow(
      expect.objectContaining({ index: 1, message: expect.stringContaining("belongs to MailHog's Jim (/api/v2/jim)") }),
    );
    expect(set.rules).toStrictEqual([{ ...chaos, origin: 'mailpit-chaos' }]);
  });

  it('tries the groups in order, each draw falling through to the next rule', () => {
    const { random, draws } = sequence(0.7, 0.2, 0.3);
    const set = new SmtpRuleSet([bounce], random);
    set.replace([{ on: 'rcpt', match: '*', disconnect: true, probability: 0.25 }], 'mailhog-jim');
    set.replace([{ on: 'rcpt', match: '*', reply: { code: 451, text: 'Chaos recipient error' }, probability: 0.5 }], 'mailpit-chaos');
    // 0.7 misses the chaos rule, 0.2 hits Jim's; then 0.3 hits the chaos rule.
    expect(set.decide({ on: 'rcpt', address: 'a@bounce.test' })?.disconnect).toBe(true);
    expect(set.decide({ on: 'rcpt', address: 'a@bounce.test' })?.reply?.code).toBe(451);
    expect(draws()).toBe(3);
  });

  it('hands out copies of its rules', () => {
    const input = structuredClone(bounce);
    const set = new SmtpRuleSet([input]);
    input.reply!.code = 451;
    set.rules[0]!.reply!.code = 452;
    expect(set.decide({ on: 'rcpt', address: 'a@bounce.test' })?.reply?.code).toBe(550);
  });
});

describe('--smtp-reject', () => {
  it('reads rules from the flag, one or several per value, in order', () => {
    expect(resolveConfig({ smtpReject: 'rcpt:*@bounce.test=550 No such user here' }).smtpReject).toStrictEqual([bounce]);
    expect(resolveConfig({ smtpReject: ['rcpt:*@bounce.test=550 No such user here; delay:mail:*=5', 'size:>1MB=552 Big'] }).smtpReject).toStrictEqual([
      bounce,
      { on: 'mail', match: '*', delay: 5 },
      { on: 'size', match: '>1MB', reply: { code: 552, text: 'Big' } },
    ]);
  });

  it('reads MAILROOM_SMTP_REJECT with one rule per line', () => {
    const settings = settingsFromEnv({ MAILROOM_SMTP_REJECT: 'rcpt:*@bounce.test=550 No such user here\ndelay:data:*=20\n' });
    expect(resolveConfig(settings).smtpReject).toStrictEqual([bounce, { on: 'data', match: '*', delay: 20 }]);
  });

  it('collects every value of the repeated flag with argumentOptions', () => {
    const { values } = parseArgs({
      args: ['--smtp-reject', 'rcpt:*@bounce.test=550 No such user here', '--smtp-port', '1', '--smtp-port', '2', '--smtp-reject', 'delay:mail:*=5'],
      options: argumentOptions(),
      strict: true,
    });
    const settings = settingsFromArguments(values);
    expect(settings).toStrictEqual({ smtpReject: ['rcpt:*@bounce.test=550 No such user here', 'delay:mail:*=5'], smtpPort: '2' });
    expect(resolveConfig(settings).smtpReject).toStrictEqual([bounce, { on: 'mail', match: '*', delay: 5 }]);
  });

  it('names the flag and the rule when a rule is bad', () => {
    const bad = (): unknown => resolveConfig({ smtpReject: ['rcpt:*@bounce.test=550 No such user here', 'rcpt:*=250 Ok'] });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow('--smtp-reject: the reply code must be from 400 to 599, got 250 in "rcpt:*=250 Ok"');
  });
});
