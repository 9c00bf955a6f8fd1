import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** A bcrypt hash as htpasswd -B and bcrypt libraries write it. */
const BCRYPT = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * A user list for --ui-auth and --smtp-auth: each entry `user:secret`, the
 * secret plain or a bcrypt hash (as Mailpit's --ui-auth-file and htpasswd -B).
 */
export class Credentials {
  private readonly users: ReadonlyMap<string, string>;

  constructor(users: ReadonlyMap<string, string>) {
    this.users = users;
  }

  get size(): number {
    return this.users.size;
  }

  /** Whether `password` is the user's; bcrypt runs off the event loop's critical path (bcryptjs's async form). */
  async verify(user: string, password: string): Promise<boolean> {
    const secret = this.users.get(user);
    if (secret === undefined) {
      // The same work either way, so timing does not tell which user names exist.
      sameText(password, password);
      return false;
    }
    if (BCRYPT.test(secret)) return bcrypt.compare(password, secret);
    return sameText(secret, password);
  }
}

/** Compares digests, so the time taken does not depend on where the texts differ. */
export function sameText(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function isBcryptHash(secret: string): boolean {
  return BCRYPT.test(secret);
}
