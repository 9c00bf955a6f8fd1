import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileWildcard, foldCase, type WildcardOptions } from '../../server/src/match/wildcard.js';

const IMAP: WildcardOptions = { delimiter: '/' };
const SMTP: WildcardOptions = { question: true, ignoreCase: true };

/** The obvious dynamic programme over (pattern position, text position), as the reference. */
function reference(pattern: string, text: string, options: WildcardOptions): boolean {
  const p = [...pattern];
  const t = [...text];
  const same = (a: string, b: string): boolean => (options.ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b);
  // after[j]: whether p[i..] matches t[j..], for the i of the loop below.
  let after = t.map(() => false).concat(true);
  for (let i = p.length - 1; i >= 0; i--) {
    const here = new Array<boolean>(t.length + 1).fill(false);
    for (let j = t.length; j >= 0; j--) {
      const c = p[i]!;
      if (c === '*') here[j] = after[j]! || (j < t.length && here[j + 1]!);
      else if (c === '%' && options.delimiter !== undefined) here[j] = after[j]! || (j < t.length && t[j] !== options.delimiter && here[j + 1]!);
      else if (c === '?' && options.question) here[j] = j < t.length && after[j + 1]!;
      else here[j] = j < t.length && same(c, t[j]!) && after[j + 1]!;
    }
    after = here;
  }
  return after[0]!;
}

const matches = (pattern: string, text: string, options: WildcardOptions = {}): boolean => compileWildcard(pattern, options).matches(text);

describe('wildcard patterns', () => {
  it.each([
    ['*', '', true],
    ['*', 'a/b/c', true],
    ['a*', 'a', true],
    ['a*c', 'a/b/c', true],
    ['a*c', 'a/b/cd', false],
    ['*b*', 'abc', true],
    ['*b*', 'ac', false],
    ['**', 'x', true],
    ['*x*x*', 'xx', true],
    ['*x*x*', 'x', false],
  ])('* matches any run, the delimiter too: %j against %j is %j', (pattern, text, expected) => {
    expect(matches(pattern, text, IMAP)).toBe(expected);
    expect(matches(pattern, text)).toBe(expected);
  });

  it.each([
    ['%', '', true],
    ['%', 'Work', true],
    ['%', 'Work/2026', false],
    ['Work/%', 'Work/2026', true],
    ['Work/%', 'Work/2026/Q1', false],
    ['%/%', 'Work/2026', true],
    ['%/%', 'Work', false],
    ['%%', 'ab', true],
    ['%*', 'a/b', true],
    ['*%', 'a/b', true],
    ['%*%', 'a/b/c', true],
    ['%a%', 'b/a', false],
    ['%?%', 'a?', true],
    ['%?%', 'ab', false],
  ])('% matches a run without the delimiter (RFC 3501 §6.3.8): %j against %j is %j', (pattern, text, expected) => {
    expect(matches(pattern, text, IMAP)).toBe(expected);
  });

  it('reads % as a literal without a delimiter, and ? as a literal unless asked', () => {
    expect(matches('100%', '100%')).toBe(true);
    expect(matches('100%', '1000')).toBe(false);
    expect(matches('a?c', 'a?c', IMAP)).toBe(true);
    expect(matches('a?c', 'abc', IMAP)).toBe(false);
  });

  it.each([
    ['user?@x.test', 'user1@x.test', true],
    ['user?@x.test', 'user@x.test', false],
    ['user?@x.test', 'user12@x.test', false],
    ['???', 'abc', true],
    ['???', 'ab', false],
    ['?', '😀', true],
    ['??', '😀', false],
    ['?*?', 'ab', true],
    ['?*?', 'a', false],
    ['*?*?*', 'ab', true],
    ['*a?b*', 'xxa-bxx', true],
    ['*a?b*', 'xxabxx', false],
  ])('? matches exactly one character: %j against %j is %j', (pattern, text, expected) => {
    expect(matches(pattern, text, SMTP)).toBe(expected);
  });

  it('takes every other character literally, regular expression syntax included', () => {
    for (const special of ['.', '+', '^', '$', '(', ')', '[', ']', '{', '}', '|', '\\', '/']) {
      expect(matches(`a${special}b`, `a${special}b`, SMTP), special).toBe(true);
      expect(matches(`a${special}b`, 'axb', SMTP), special).toBe(false);
    }
    expect(matches('a.*', 'a.b', IMAP)).toBe(true);
    expect(matches('a.*', 'ab', IMAP)).toBe(false);
    expect(matches('[ab]', 'a', IMAP)).toBe(false);
    expect(matches('x\ny', 'x\ny')).toBe(true);
    expect(matches('*', 'line\nbreak\u2028')).toBe(true);
  });

  it('compares case-sensitively unless asked, then by Unicode simple case folding', () => {
    expect(matches('Work', 'work', IMAP)).toBe(false);
    expect(matches('USER@*', 'user@x.test', SMTP)).toBe(true);
    expect(matches('élan*', 'ÉLAN@x.test', SMTP)).toBe(true);
    expect(matches('ß', 'ẞ', SMTP)).toBe(true);
    expect(matches('k', '\u212a', SMTP)).toBe(true);
    expect(matches('s', 'ſ', SMTP)).toBe(true);
    expect(matches('σ', 'ς', SMTP)).toBe(true);
    // Dotless ı and dotted İ fold to themselves: only Turkic folding joins them to I and i.
    expect(matches('i', 'ı', SMTP)).toBe(false);
    expect(matches('I', 'ı', SMTP)).toBe(false);
    expect(matches('i', 'İ', SMTP)).toBe(false);
    expect(matches('𐐀', '𐐨', SMTP)).toBe(true);
  });

  it('folds case as a RegExp with flags iu compares, for every code point', () => {
    const classes = new Map<number, number[]>();
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const folded = foldCase(cp);
      if (folded === cp && !classes.has(cp)) continue;
      const members = classes.get(folded) ?? [folded];
      if (folded !== cp) members.push(cp);
      classes.set(folded, members);
    }
    const disagreements: string[] = [];
    for (const members of classes.values()) {
      for (const a of members) {
        const re = new RegExp(`^\\u{${a.toString(16)}}$`, 'iu');
        const char = String.fromCodePoint(a);
        const outside = [char.toLowerCase(), char.toUpperCase()].filter((other) => [...other].length === 1 && !members.includes(other.codePointAt(0)!));
        for (const b of members) if (!re.test(String.fromCodePoint(b))) disagreements.push(`${a.toString(16)} ${b.toString(16)}`);
        for (const other of outside) if (re.test(other)) disagreements.push(`${a.toString(16)} ${other.codePointAt(0)!.toString(16)}`);
      }
    }
    expect(disagreements).toStrictEqual([]);
    expect(classes.get(foldCase(0x73))).toStrictEqual([0x73, 0x53, 0x17f]);
  });

  it('matches INBOX however the pattern spells it, and other names case-sensitively, as LIST does', () => {
    // mailboxes.ts: the case-insensitive copy of a LIST pattern decides for INBOX alone.
    const inbox = (pattern: string): boolean => compileWildcard(pattern, IMAP).ignoringCase().matches('INBOX');
    expect(inbox('inbox')).toBe(true);
    expect(inbox('iNbOx')).toBe(true);
    expect(inbox('in%')).toBe(true);
    expect(inbox('I*')).toBe(true);
    expect(inbox('*X')).toBe(true);
    expect(inbox('%x')).toBe(true);
    expect(inbox('inbox/%')).toBe(false);
    expect(inbox('ınbox')).toBe(false);
    expect(inbox('İnbox')).toBe(false);
    expect(compileWildcard('inbox', IMAP).matches('INBOX')).toBe(false);
    expect(compileWildcard('INBOX/*', IMAP).matches('INBOX/Work')).toBe(true);
    expect(compileWildcard('INBOX/*', IMAP).matches('INBOX/work')).toBe(true);
    expect(compileWildcard('INBOX/W*', IMAP).matches('INBOX/work')).toBe(false);
  });

  it('lists the delimiters whose prefix matches, in one pass', () => {
    const levels = (pattern: string, text: string): number[] => compileWildcard(pattern, IMAP).matchingPrefixes(text, '/');
    expect(levels('%', 'a/b/c')).toStrictEqual([1]);
    expect(levels('*', 'a/b/c')).toStrictEqual([1, 3]);
    expect(levels('*b', 'a/b/c')).toStrictEqual([3]);
    expect(levels('%', '/x')).toStrictEqual([0]);
    expect(levels('a', 'a//b')).toStrictEqual([1]);
    expect(levels('a/', 'a//b')).toStrictEqual([2]);
    expect(levels('*', 'abc')).toStrictEqual([]);
    expect(levels('%x%', 'ab/c')).toStrictEqual([]);
  });

  it('knows the shortest text that can match', () => {
    expect(compileWildcard('*%*', IMAP).minLength).toBe(0);
    expect(compileWildcard('a%b*c', IMAP).minLength).toBe(3);
    expect(compileWildcard('?*?', SMTP).minLength).toBe(2);
    expect(compileWildcard('😀', SMTP).minLength).toBe(1);
  });

  const alphabet = ['a', 'b', 'A', '/'];
  const patternChars = [...alphabet, '*', '%', '?'];
  const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((chars) => chars.join(''));
  const pattern = fc.array(fc.constantFrom(...patternChars), { maxLength: 10 }).map((chars) => chars.join(''));
  const options = fc.record({ delimiter: fc.constantFrom(undefined, '/'), question: fc.boolean(), ignoreCase: fc.boolean() });

  it('agrees with the reference on random patterns and names', () => {
    fc.assert(
      fc.property(pattern, text, options, (p, t, o) => {
        expect(compileWildcard(p, o).matches(t)).toBe(reference(p, t, o));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with the reference on long patterns against texts made to match them, and on their prefixes', () => {
    const filler = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 3 }).map((c) => c.join(''));
    // A pattern of up to 200 tokens (several words of automaton state) and a text built from it, perhaps changed in one place.
    const piece = (c: string) => (c === '*' ? filler(alphabet) : c === '%' ? filler(['a', 'b']) : c === '?' ? fc.constantFrom(...alphabet) : fc.constant(c));
    const built = fc
      .array(fc.constantFrom(...patternChars, 'a', 'a'), { minLength: 1, maxLength: 200 })
      .chain((chars) => fc.tuple(fc.constant(chars.join('')), fc.tuple(...chars.map(piece)), fc.option(fc.tuple(fc.nat(), fc.constantFrom(...alphabet)))))
      .map(([p, pieces, change]) => {
        let t = pieces.join('');
        if (change !== null && t.length > 0) {
          const at = change[0] % t.length;
          t = t.slice(0, at) + change[1] + t.slice(at + 1);
        }
        return [p, t] as const;
      });
    fc.assert(
      fc.property(built, options, ([p, t], o) => {
        const matcher = compileWildcard(p, o);
        expect(matcher.matches(t)).toBe(reference(p, t, o));
        const prefixes = [...t].flatMap((c, i) => (c === '/' && reference(p, t.slice(0, i), o) ? [i] : []));
        expect(matcher.matchingPrefixes(t, '/')).toStrictEqual(prefixes);
        expect(matcher.ignoringCase().matches(t)).toBe(reference(p, t, { ...o, ignoreCase: true }));
      }),
      { numRuns: 2000 },
    );
  });

  /** The best of three runs: one slow run on a loaded machine says nothing about the algorithm. */
  function fastest(run: () => boolean): { ms: number; result: boolean } {
    let best = Infinity;
    let result = false;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      result = run();
      best = Math.min(best, performance.now() - started);
    }
    return { ms: best, result };
  }

  const NFA_TEXT = `${'a'.repeat(1000)}/${'a'.repeat(1000)}`;
  const NFA_PATTERN = `${`${'%'.repeat(4)}a`.repeat(1000)}%/${`${'%'.repeat(4)}a`.repeat(999)}${'%'.repeat(3)}`;

  it.each([
    ['*%*%…a', `${'*%'.repeat(4999)}*a`, IMAP, 'x'.repeat(20_000), false],
    ['*a*a…b', `${'*a'.repeat(4999)}*b`, IMAP, 'a'.repeat(20_000), false],
    ['*a*a…b*', `${'*a'.repeat(4999)}b*`, SMTP, 'a'.repeat(20_000), false],
    ['%a%a…b', `${'%a'.repeat(4999)}%b`, IMAP, 'a'.repeat(20_000), false],
    ['%a%a…%b%', `${'%a'.repeat(4999)}b%`, IMAP, 'a'.repeat(20_000), false],
    ['%a%a…%', `${'%a'.repeat(4999)}%%`, IMAP, 'a'.repeat(20_000), true],
    ['%a%a…% on 2,000', `${'%a'.repeat(4999)}%%`, IMAP, 'a'.repeat(2000), false],
    ['?*?*…', '?*'.repeat(5000), SMTP, 'a'.repeat(20_000), true],
    ['?*?*…b', `${'?*'.repeat(4999)}?b`, SMTP, 'a'.repeat(20_000), false],
    ['?*?*… on 2,000', '?*'.repeat(5000), SMTP, 'a'.repeat(2000), false],
    ['*a?*a?…b on 2,000', `${'*a?'.repeat(3333)}b`, SMTP, 'A'.repeat(2000), false],
    ['levels across the delimiter', NFA_PATTERN, IMAP, NFA_TEXT, true],
    ['levels across the delimiter, one short', NFA_PATTERN, IMAP, `${'a'.repeat(999)}/${'a'.repeat(1002)}`, false],
  ])('answers %s (a 10,000-character pattern) within 50 ms', (_, p, o, t, expected) => {
    expect(p).toHaveLength(10_000);
    const { ms, result } = fastest(() => compileWildcard(p, o).matches(t));
    expect(result).toBe(expected);
    expect(ms).toBeLessThan(50);
  });

  it('finds matching prefixes of a 20,000-character name within 50 ms', () => {
    const name = 'a/'.repeat(10_000);
    const { ms, result } = fastest(() => compileWildcard(`${'%a'.repeat(4999)}%%`, IMAP).matchingPrefixes(name, '/').length === 0);
    expect(result).toBe(true);
    expect(ms).toBeLessThan(50);
    expect(compileWildcard('*a', IMAP).matchingPrefixes(name, '/')).toHaveLength(10_000);
  });
});
