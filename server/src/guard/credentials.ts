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
  /** A hash of the list's, checked for unknown users so that their answer takes as long. */
  private readonly decoy: string | undefined;

  constructor(users: ReadonlyMap<string, string>) {
    this.users = users;
    this.decoy = [...users.values()].find((secret) => BCRYPT.test(secret));
  }

  get size(): number {
    return this.users.size;
  }

  /** Whether `password` is the user's. */
  async verify(user: string, password: string): Promise<boolean> {
    const secret = this.users.get(user);
    if (secret === undefined) {
      if (this.decoy !== undefined) await compareHash(password, this.decoy);
      else sameText(password, password);
      return false;
    }
    if (BCRYPT.test(secret)) return compareHash(password, secret);
    return sameText(secret, password);
  }
}

/**
 * bcrypt costs tens of milliseconds of CPU by design. bcryptjs's async form
 * yields between rounds, but a burst of logins would still share the CPU
 * among all of them; run at most this many at once, the others queued.
 */
const BCRYPT_AT_ONCE = 2;
let running = 0;
const queued: (() => void)[] = [];

async function compareHash(password: string, hash: string): Promise<boolean> {
  // A finishing compare hands its slot to the next one queued, so the count never overshoots.
  if (running >= BCRYPT_AT_ONCE) await new Promise<void>((resolve) => queued.push(resolve));
  else running += 1;
  try {
    return await bcrypt.compare(password, hash);
  } finally {
    const next = queued.shift();
    if (next) next();
    else running -= 1;
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
