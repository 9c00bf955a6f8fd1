import { describe, expect, it } from 'vitest';
import { faviconSvg, faviconUrl } from '../../web/src/lib/favicon.js';

const badgeOf = (svg: string): string | null => /<text[^>]*>([^<]*)<\/text>/.exec(svg)?.[1] ?? null;

describe('the tab icon', () => {
  it('shows the unread count on a badge, 99+ past 99, and no badge when all is read', () => {
    expect(badgeOf(faviconSvg(0))).toBeNull();
    expect(faviconSvg(0)).not.toContain('<circle');
    expect(badgeOf(faviconSvg(1))).toBe('1');
    expect(badgeOf(faviconSvg(42))).toBe('42');
    expect(badgeOf(faviconSvg(99))).toBe('99');
    expect(badgeOf(faviconSvg(100))).toBe('99+');
    // Three characters take a smaller type to fit the badge.
    expect(faviconSvg(100)).toContain('font-size="8"');
    expect(faviconSvg(42)).toContain('font-size="11"');
  });

  it('is a data: URL of the SVG, which the app CSP allows for images', () => {
    expect(faviconUrl(3)).toBe(`data:image/svg+xml,${encodeURIComponent(faviconSvg(3))}`);
    expect(decodeURIComponent(faviconUrl(3).slice('data:image/svg+xml,'.length))).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });
});
