import libqp from 'libqp';
import { describe, expect, it } from 'vitest';
import { digestMessage } from '../../server/src/mime/digest.js';
import { extractLinks, htmlLinks, htmlText, textUrls } from '../../server/src/mime/links.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\n/g, '\r\n'));
const urls = (text: string): string[] => textUrls(text).map((u) => u.url);

describe('links in HTML', () => {
  it('takes href of <a> and <area> in document order, entities decoded, with their visible text', () => {
    const html = [
      '<html><head><title>Not a link https://t.test/</title><style>a{color:red}</style></head><body>',
      '<p>Please <a href="https://x.test/verify?user=1&amp;token=a%20b&lang=en&copy=2">Con<b>firm</b>\n   your <i>e&#109;ail</i>&nbsp;now</a>.</p>',
      '<map><area href="/region" alt=" North &amp; South "></map>',
      '<a name="top">anchor without href</a><a href="">empty href</a>',
      '<A HREF=\'mailto:help@x.test\'><img src="cid:logo" alt="Help"></A>',
      '<a href="https://x.test/dup">again</a><a href="https://x.test/dup">again</a>',
      '</body></html>',
    ].join('\n');
    expect(htmlLinks(html)).toStrictEqual([
      // &lang= and &copy= are no references inside an attribute (HTML's legacy-entity rule), as in browsers.
      { url: 'https://x.test/verify?user=1&token=a%20b&lang=en&copy=2', text: 'Confirm your email now' },
      { url: '/region', text: 'North & South' },
      { url: 'mailto:help@x.test', text: 'Help' },
      { url: 'https://x.test/dup', text: 'again' },
      { url: 'https://x.test/dup', text: 'again' },
    ]);
  });

  it('reads an href wrapped across lines whole, as browsers do, and an <a> start tag ends an open <a>', () => {
    const html = '<a href="\n  https://x.test/a\n/very/long\r\n?q=1\t ">one<a href="https://x.test/b">two <span>three</span></a> four';
    expect(htmlLinks(html)).toStrictEqual([
      { url: 'https://x.test/a/very/long?q=1', text: 'one' },
      { url: 'https://x.test/b', text: 'two three' },
    ]);
  });

  it('keeps block boundaries apart in anchor text and in visible text', () => {
    expect(htmlLinks('<a href="u">Line<br>break<div>block</div></a>')).toStrictEqual([{ url: 'u', text: 'Line break block' }]);
    expect(htmlText('<head><title>T</title><style>p{}</style></head><p>Your code</p><table><tr><td>1234</td><td>5678</td></tr></table>')).toBe(
      '\nYour code\n\n\n\n1234\n\n5678\n\n\n',
    );
  });
});

describe('links in plain text', () => {
  it('finds bare http(s) and mailto URLs and trims the sentence around them', () => {
    expect(
      urls(
        'See https://x.test/a. Then (https://x.test/b), or https://en.wikipedia.org/wiki/Foo_(bar); ' +
          '"https://x.test/q?a=1&b=2" and *https://x.test/em*! Mail mailto:me@x.test? HTTPS://X.TEST/UP, https://x.test/[1]]',
      ),
    ).toStrictEqual([
      'https://x.test/a',
      'https://x.test/b',
      'https://en.wikipedia.org/wiki/Foo_(bar)',
      'https://x.test/q?a=1&b=2',
      'https://x.test/em',
      'mailto:me@x.test',
      'HTTPS://X.TEST/UP',
      'https://x.test/[1]',
    ]);
  });

  it('reads <https://...> to its bracket, joining lines wrapped inside it (RFC 3986 Appendix C)', () => {
    expect(urls('Open <https://x.test/reset?token=abc\n   def&u=1> now, or <URL:https://x.test/old>.')).toStrictEqual([
      'https://x.test/reset?token=abcdef&u=1',
      'https://x.test/old',
    ]);
    // A space without a line break means the brackets hold prose: the URL is read bare.
    expect(urls('<https://x.test/ is our site>')).toStrictEqual(['https://x.test/']);
    expect(urls('<https://x.test/never-closed and on')).toStrictEqual(['https://x.test/never-closed']);
  });

  it('leaves out a scheme with nothing after it and URLs glued to a word', () => {
    expect(urls('http:// and https:///path and mailto: and xhttps://x.test/ and _https://x.test/')).toStrictEqual([]);
  });

  it('reports where each URL stands', () => {
    expect(textUrls('a https://x.test/b. <https://x.test/c>')).toStrictEqual([
      { url: 'https://x.test/b', start: 2, end: 18 },
      { url: 'https://x.test/c', start: 20, end: 38 },
    ]);
  });

  it('stays linear on hostile text', () => {
    const start = performance.now();
    urls(`https://x.test/${')'.repeat(200_000)} ${'<https://'.repeat(20_000)}`);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('links of a message', () => {
  it('decodes quoted-printable and base64 bodies so URLs split by soft line breaks come out whole', () => {
    const long = `https://x.test/verify?token=${'ab'.repeat(60)}&next=%2Fhome`;
    const html = `<p><a href="${long.replace('&', '&amp;')}">Verify</a></p>`;
    const qpHtml = libqp.wrap(libqp.encode(Buffer.from(html)), 76).replace(/\r\n/g, '\n');
    const b64 = Buffer.from(`Or: ${long}.\n`).toString('base64').replace(/(.{76})/g, '$1\n');
    const raw = crlf(
      [
        'From: a@x.test',
        'Subject: links',
        'Content-Type: multipart/mixed; boundary=outer',
        '',
        '--outer',
        'Content-Type: multipart/alternative; boundary=alt',
        '',
        '--alt',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        b64,
        '--alt',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        qpHtml,
        '--alt--',
        '--outer',
        'Content-Type: message/rfc822',
        '',
        'Subject: forwarded',
        'Content-Type: text/plain',
        '',
        'https://x.test/forwarded-is-not-read',
        '--outer',
        'Content-Type: text/plain; name="notes.txt"',
        'Content-Disposition: attachment; filename="notes.txt"',
        '',
        'https://x.test/attachment-is-not-read',
        '--outer--',
        '',
      ].join('\n'),
    );
    expect(raw.toString('latin1')).not.toContain(long);
    const { root } = digestMessage(raw);
    expect(extractLinks(raw, root)).toStrictEqual([
      { url: long, text: null, part: '1.1', type: 'text' },
      { url: long, text: 'Verify', part: '1.2', type: 'html' },
    ]);
  });

  it('numbers a single-part message as part 1 and decodes its charset', () => {
    const raw = crlf(
      'Subject: x\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<a href=3D"https://x.test/=\n%C3%A9">Best=E4tigen</a>\n',
    );
    expect(extractLinks(raw, digestMessage(raw).root)).toStrictEqual([
      { url: 'https://x.test/%C3%A9', text: 'Bestätigen', part: '1', type: 'html' },
    ]);
  });
});
