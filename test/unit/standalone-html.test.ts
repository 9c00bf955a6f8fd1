import { describe, expect, it } from 'vitest';
import { inertHtml, STANDALONE_CSP, standaloneHtml } from '../../server/src/api/standalone-html.js';
import { MessageStore } from '../../server/src/store/message-store.js';

const EVIL = 'https://evil.test/';

describe('inertHtml', () => {
  it.each([
    ['plain', `<meta http-equiv="refresh" content="0;url=${EVIL}"><p>Hi</p>`, '<p>Hi</p>'],
    ['upper case', `<META HTTP-EQUIV="REFRESH" CONTENT="0; URL=${EVIL}"><P>Hi</P>`, '<p>Hi</p>'],
    ['unquoted', `<meta http-equiv=refresh content=0;url=${EVIL}><p>Hi</p>`, '<p>Hi</p>'],
    ['single quotes, white space around "="', `<meta\n  http-equiv = 'Refresh'\tcontent='5; url=${EVIL}' ><p>Hi</p>`, '<p>Hi</p>'],
    ['self-closed, content first', `<meta content="0;url=${EVIL}" http-equiv="refresh"/><p>Hi</p>`, '<p>Hi</p>'],
    ['value in character references', `<meta http-equiv="&#82;efresh" content="0;url=${EVIL}"><p>Hi</p>`, '<p>Hi</p>'],
    ['padded value', `<meta http-equiv=" refresh " content="0"><p>Hi</p>`, '<p>Hi</p>'],
    ['inside noscript', `<noscript><meta http-equiv="refresh" content="0;url=${EVIL}"></noscript><p>Hi</p>`, '<noscript></noscript><p>Hi</p>'],
    ['inside template', `<template><meta http-equiv="refresh" content="0;url=${EVIL}"></template>`, '<template></template>'],
    ['inside svg', `<svg><meta http-equiv="refresh" content="0;url=${EVIL}"/></svg>`, '<svg></svg>'],
    ['in head', `<html><head><meta http-equiv=refresh content=0><title>T</title></head><body>Hi</body></html>`, '<html><head><title>T</title></head><body>Hi</body></html>'],
  ])('removes a meta refresh: %s', (_, html, expected) => {
    expect(inertHtml(html)).toBe(expected);
  });

  it('keeps other meta elements', () => {
    expect(inertHtml('<meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta http-equiv="Content-Type" content="text/html">')).toBe(
      '<meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta http-equiv="Content-Type" content="text/html">',
    );
  });

  it('removes forms, keeping what they hold, and form-submitting attributes', () => {
    expect(
      inertHtml(
        `<FORM ACTION="${EVIL}collect" method=post><input name=q value="a&amp;b"><button formaction="${EVIL}x" formmethod=post formenctype="text/plain" formtarget=_top formnovalidate>Go</button></FORM>` +
          `<form><form action=${EVIL}>nested</form></form><input type=submit FormAction=${EVIL}><noscript><form action=${EVIL}><button>Send</button></form></noscript>`,
      ),
    ).toBe('<input name="q" value="a&amp;b"><button>Go</button>nested<input type="submit"><noscript><button>Send</button></noscript>');
  });

  it('removes <base>', () => {
    expect(inertHtml(`<base href="${EVIL}"><BASE HREF=${EVIL} target=_top><a href="page">link</a><template><base href=${EVIL}></template>`)).toBe(
      '<a href="page">link</a><template></template>',
    );
  });

  it('removes scripts, and writes back only what htmlparser2 read, so a browser cannot read more', () => {
    expect(inertHtml(`<script>location = "${EVIL}"</script><p title='a "b"' onclick=x>1 < 2 &amp; 3 &gt; 2</p>`)).toBe(
      '<p title="a &quot;b&quot;" onclick="x">1 &lt; 2 &amp; 3 &gt; 2</p>',
    );
    // A browser reads `<![CDATA[>` as a comment that ends at the first ">", and
    // `<style>` inside <svg> as markup; htmlparser2 reads neither that way.
    expect(inertHtml(`<![CDATA[><meta http-equiv="refresh" content="0;url=${EVIL}">]]><p>after</p>`)).toBe('<p>after</p>');
    expect(inertHtml(`<svg><style><meta http-equiv="refresh" content="0;url=${EVIL}"></style></svg>`)).toBe(
      `<svg><style>\\3C meta http-equiv="refresh" content="0;url=${EVIL}"></style></svg>`,
    );
    expect(inertHtml(`<!--><meta http-equiv="refresh" content="0;url=${EVIL}">--><!-- note --><!DOCTYPE html><?xml version="1.0"?>x`)).toBe('--&gt;x');
    expect(inertHtml(`<title>A &amp; <b></title><textarea><meta http-equiv=refresh content=0></textarea>`)).toBe(
      '<title>A &amp; &lt;b&gt;</title><textarea>&lt;meta http-equiv=refresh content=0&gt;</textarea>',
    );
    expect(inertHtml('<p a"b=1 c=2>x</p><x<y>z')).toBe('<p c="2">x</p>z');
  });

  it('keeps ordinary markup as it was, end tags the parser implied written out', () => {
    const html =
      '<!DOCTYPE html><html><head><style>p > a { color: red }</style></head><body>' +
      '<table><tr><td><img src="data:image/png;base64,AAAA" alt="logo"><br/><a href="https://example.test/?a=1&amp;b=2">Link</a></table>' +
      '<p>one<p>two<ul><li>a<li>b</ul></body></html>';
    expect(inertHtml(html)).toBe(
      '<html><head><style>p > a { color: red }</style></head><body>' +
        '<table><tr><td><img src="data:image/png;base64,AAAA" alt="logo"><br><a href="https://example.test/?a=1&amp;b=2">Link</a></td></tr></table>' +
        '<p>one</p><p>two</p><ul><li>a</li><li>b</li></ul></body></html>',
    );
  });
});

describe('standaloneHtml', () => {
  it('writes the CSP first, then the header block, then the inert body', async () => {
    const store = new MessageStore({ maxMessages: 10, maxBytes: 1e6 });
    const raw = Buffer.from(
      [
        'From: Shop <shop@example.test>',
        'To: ann@example.test',
        'Subject: Hostile',
        'Date: Tue, 05 Mar 2024 10:00:00 +0000',
        'Content-Type: text/html; charset=utf-8',
        '',
        `<head><meta http-equiv="refresh" content="0;url=${EVIL}"><base href="${EVIL}"></head>`,
        `<form action="${EVIL}"><p>Hello <b>Ann</b></p><button formaction="${EVIL}">Go</button></form>`,
        '',
      ].join('\r\n'),
    );
    const message = await store.add({ raw, envelope: { mailFrom: 'shop@example.test', rcptTo: ['ann@example.test'] }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    expect(standaloneHtml(message)).toBe(
      [
        '\uFEFF<!DOCTYPE html>',
        '<meta charset="utf-8">',
        `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:; media-src data:; font-src data:; style-src &#39;unsafe-inline&#39;; base-uri &#39;none&#39;; form-action &#39;none&#39;">`,
        '<meta name="referrer" content="no-referrer">',
        '<title>Hostile</title>',
        '<div id="mailroom-headers" style="font:13px/1.4 system-ui,sans-serif;color:#222;background:#f3f3f3;border-bottom:1px solid #ccc;padding:8px 12px;margin:0 0 12px">',
        '<div><b>From:</b> Shop &lt;shop@example.test&gt;</div>',
        '<div><b>To:</b> ann@example.test</div>',
        '<div><b>Subject:</b> Hostile</div>',
        '<div><b>Date:</b> 2024-03-05T10:00:00.000Z</div>',
        '</div>',
        '<head></head>\r\n<p>Hello <b>Ann</b></p><button>Go</button>\r\n',
        '',
      ].join('\n'),
    );
  });

  it('carries a CSP that forbids script, form submission, <base> and every remote load', () => {
    const directives = new Map(STANDALONE_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(Object.fromEntries(directives)).toStrictEqual({
      'default-src': ["'none'"],
      'img-src': ['data:'],
      'media-src': ['data:'],
      'font-src': ['data:'],
      'style-src': ["'unsafe-inline'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
    });
  });
});
