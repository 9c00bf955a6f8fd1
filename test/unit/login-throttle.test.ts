import { describe, expect, it } from 'vitest';
import { addressKey, LoginThrottle } from '../../server/src/guard/login-throttle.js';

describe('login throttle', () => {
  it('lets an address in at once until it fails, then doubles the wait per failure', () => {
    const throttle = new LoginThrottle({ baseMs: 100, maxMs: 1000, forgetMs: 60_000, maxTracked: 10 });
    expect(throttle.reserve('192.0.2.1', 0)).toBe(0);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i += 1) {
      throttle.failed('192.0.2.1', now);
      const wait = throttle.reserve('192.0.2.1', now);
      waits.push(wait);
      now += wait;
    }
    expect(waits).toStrictEqual([100, 200, 400, 800, 1000, 1000]);
    expect(throttle.reserve('192.0.2.2', now)).toBe(0);
  });

  it('spaces parallel attempts as if each before them failed', () => {
    const throttle = new LoginThrottle({ baseMs: 100, maxMs: 10_000, forgetMs: 60_000, maxTracked: 10 });
    throttle.failed('192.0.2.1', 0);
    expect([0, 1, 2, 3].map(() => throttle.reserve('192.0.2.1', 0))).toStrictEqual([100, 300, 700, 1500]);
  });

  it('forgets failures after forgetMs, not after a success', () => {
    const throttle = new LoginThrottle({ baseMs: 100, maxMs: 10_000, forgetMs: 1000, maxTracked: 10 });
    throttle.failed('192.0.2.1', 0);
    expect(throttle.reserve('192.0.2.1', 100)).toBe(0);
    expect(throttle.failures('192.0.2.1', 900)).toBe(1);
    expect(throttle.failures('192.0.2.1', 1001)).toBe(0);
    expect(throttle.reserve('192.0.2.1', 1001)).toBe(0);
  });

  it('remembers at most maxTracked addresses, dropping the longest quiet', () => {
    const throttle = new LoginThrottle({ baseMs: 100, maxMs: 10_000, forgetMs: 60_000, maxTracked: 2 });
    throttle.failed('192.0.2.1', 0);
    throttle.failed('192.0.2.2', 1);
    throttle.failed('192.0.2.1', 2);
    throttle.failed('192.0.2.3', 3);
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a) => throttle.failures(a, 4))).toStrictEqual([2, 0, 1]);
  });

  it('counts an IPv6 /64 as one client, and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.9')).toBe('192.0.2.9');
    expect(addressKey('192.0.2.9')).toBe('192.0.2.9');
    expect(addressKey(undefined)).toBe('');
  });
});
