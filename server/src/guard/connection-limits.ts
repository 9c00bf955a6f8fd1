import { addressKey } from './login-throttle.js';

export interface ConnectionCaps {
  /** Open connections in all. */
  total: number;
  /** Open connections from one client address (an IPv6 /64 counts as one). */
  perAddress: number;
}

/** Why a connection was refused, or null when it was let in. */
export type Refusal = 'total' | 'address' | null;

/**
 * Counts the open connections of one listener (its plain and TLS ports
 * together), so that neither a flood of connections nor one client can take
 * every descriptor and all the memory sessions pin.
 */
export class ConnectionLimits {
  private open = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly caps: ConnectionCaps) {}

  get size(): number {
    return this.open;
  }

  /** Counts the connection in, or says why not; a counted one must be released exactly once. */
  acquire(address: string | undefined): Refusal {
    if (this.open >= this.caps.total) return 'total';
    const key = addressKey(address);
    const count = this.byAddress.get(key) ?? 0;
    if (count >= this.caps.perAddress) return 'address';
    this.byAddress.set(key, count + 1);
    this.open += 1;
    return null;
  }

  release(address: string | undefined): void {
    const key = addressKey(address);
    const count = this.byAddress.get(key) ?? 0;
    if (count <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, count - 1);
    this.open -= 1;
  }
}

/** The reply text for a refused connection. */
export function refusalText(refusal: Exclude<Refusal, null>): string {
  return refusal === 'total' ? 'Too many connections, try again later' : 'Too many connections from your address, try again later';
}
