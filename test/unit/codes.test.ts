import { describe, expect, it } from 'vitest';
import { codeText, findCodes, PatternError } from '../../server/src/mime/codes.js';
import { digestMessage } from '../../server/src/mime/digest.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\n/g, '\r\n'));

describe('one-time codes', () => {
  it('finds 4 to 8 digit runs standing alone, in order, repeats kept', () => {
    expect(findCodes('Your code is 123456. Enter 123456 or use backup 9876 (or 12345678); code:4321')).toStrictEqual([
      '123456', '123456', '9876', '12345678', '4321',
    ]);
  });

  it('leaves out longer numbers, ids, phone numbers, dates, times, amounts, years and URLs', () => {
    const text = [
      '123 and 123456789 are too short and too long.',
      'Ids: A1234, 1234b, user_1234, 1234@x.test, x-1234y.',
      'Call 555-123-4567, +4915112345678, +49 1234 567890 or (555) 123.4567.',
      'Card 4111 1111 1111 1111.',
      'Dates: 2024-01-15, 15/01/2024, 15.01.2024, Jan 15, 2024, 15 January 2024, March 2025, at 10:30:00 and 12:0000.',
      'Amounts: $1234, 1234€, € 1234, 1234 $, 1,234,567 and 12345.67.',
      '© 2024 Acme; Copyright 2019-2024; (c) 2023.',
      'Visit https://x.test/verify?code=987654 or <https://x.test/c/55555>.',
      'The code: 246810',
    ].join('\n');
    expect(findCodes(text)).toStrictEqual(['246810']);
  });

  it('returns the first capture group of a given pattern, or the whole match', () => {
    const text = 'code: AB-12\ncode: CD-34\nurl https://x.test/?token=tok_987';
    expect(findCodes(text, 'code: ([A-Z]+-\\d+)')).toStrictEqual(['AB-12', 'CD-34']);
    expect(findCodes(text, '[A-Z]{2}-\\d+')).toStrictEqual(['AB-12', 'CD-34']);
    // Digits inside URLs count for a given pattern: it may be after a token in a link.
    expect(findCodes(text, 'token=(\\w+)')).toStrictEqual(['tok_987']);
    // Matches where group 1 took no part, and empty matches, are left out.
    expect(findCodes(text, '(AB)|CD|x*')).toStrictEqual(['AB']);
  });

  it('refuses invalid patterns, saying what is wrong', () => {
    expect(() => findCodes('x', '(')).toThrow(PatternError);
    expect(() => findCodes('x', '(')).toThrow(new PatternError('pattern is not a valid regular expression: missing closing ): `(`'));
    expect(() => findCodes('x', 'a{2,1}')).toThrow(new PatternError('pattern is not a valid regular expression: invalid repeat count: `{2,1}`'));
    expect(() => findCodes('x', 'a'.repeat(201))).toThrow(/longer than 200/);
  });

  it('refuses lookaround and backreferences, which RE2 cannot run in linear time', () => {
    const why = 'which is not supported: patterns run on RE2, in time linear in the text, without lookaround or backreferences';
    expect(() => findCodes('x', '(?<=code: )\\d+')).toThrow(new PatternError(`pattern uses a lookbehind ((?<=), ${why}`));
    expect(() => findCodes('x', '(?<!\\d)\\d{6}')).toThrow(new PatternError(`pattern uses a lookbehind ((?<!), ${why}`));
    expect(() => findCodes('x', '\\d{6}(?=\\s)')).toThrow(new PatternError(`pattern uses a lookahead ((?=), ${why}`));
    expect(() => findCodes('x', '\\d{6}(?!\\d)')).toThrow(new PatternError(`pattern uses a lookahead ((?!), ${why}`));
    expect(() => findCodes('x', '(\\d)\\1')).toThrow(new PatternError(`pattern uses a backreference (\\1), ${why}`));
    expect(() => findCodes('x', '(?<d>\\d)\\k<d>')).toThrow(new PatternError(`pattern uses a backreference (\\k<name>), ${why}`));
    // In a class, and after an escaped parenthesis, these are ordinary characters.
    expect(findCodes('a(?=1 \\1', '[(?=]+')).toStrictEqual(['(?=']);
    expect(findCodes('a(?=1', '\\(\\?=(\\d)')).toStrictEqual(['1']);
  });

  it('answers patterns that backtrack catastrophically in JavaScript at once, and correctly', () => {
    const text = `${'a'.repeat(20_000)}b`;
    const start = performance.now();
    expect(findCodes(text, '(a+)+$')).toStrictEqual([]);
    expect(findCodes(text, '(a+)+b')).toStrictEqual(['a'.repeat(20_000)]);
    expect(findCodes(`${'ab1 '.repeat(5000)}!`, '(\\w+\\s?)+$')).toStrictEqual([]);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('reads ., \\s and \\S as JavaScript does, not as RE2 does', () => {
    // HTML bodies turn &nbsp; into U+00A0, and text bodies end lines with CRLF.
    expect(findCodes('Code:\u00a0AB-12\r\nCode: CD-34\u2028x', 'Code:\\s(.+)')).toStrictEqual(['AB-12', 'CD-34']);
    expect(findCodes('a\u00a0b\u2003c\vd', '\\S+')).toStrictEqual(['a', 'b', 'c', 'd']);
    expect(findCodes('a b\u3000c', '[\\S\\s]+')).toStrictEqual(['a b\u3000c']);
    expect(findCodes('ab\u00a0c', '[^\\s]+')).toStrictEqual(['ab', 'c']);
    expect(findCodes('a\nb', '[^]+')).toStrictEqual(['a\nb']);
    expect(findCodes('12:34', '(?<h>\\d+):(\\d+)')).toStrictEqual(['12']);
  });

  it('reads the text part, else the visible text of the HTML part', () => {
    const alternative = crlf(
      [
        'Content-Type: multipart/alternative; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'Plain 1111',
        '--b',
        'Content-Type: text/html',
        '',
        '<p>HTML 2222</p>',
        '--b--',
        '',
      ].join('\n'),
    );
    expect(findCodes(codeText(alternative, digestMessage(alternative).root))).toStrictEqual(['1111']);
    const html = crlf(
      'Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n' +
        Buffer.from('<style>.x{width:1234px}</style><p>Code</p><td>5678</td><td>9012</td><a href="https://x.test/3456">go</a>').toString('base64'),
    );
    expect(findCodes(codeText(html, digestMessage(html).root))).toStrictEqual(['5678', '9012']);
  });
});
