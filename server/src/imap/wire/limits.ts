/**
 * Every size the IMAP wire layer accepts, in one place. A client past one of
 * them gets a BAD (or NO [TOOBIG], RFC 5530 §3) for that command and the
 * session goes on; nothing is allocated for a size a client merely claims.
 */
export interface WireLimits {
  /** One command line between literals, CRLF excluded. RFC 2683 §3.2.1.5 asks clients to stay under 8,000 octets. */
  readonly lineBytes: number;
  /** A literal in any command but APPEND. */
  readonly literalBytes: number;
  /** An APPEND literal: the largest message the SMTP side would take. */
  readonly appendBytes: number;
  /** Literals in one command. */
  readonly literals: number;
  /** Parenthesised lists inside one another (SEARCH programs, FETCH items). */
  readonly depth: number;
}

export const DEFAULT_LIMITS: WireLimits = {
  lineBytes: 64 * 1024,
  literalBytes: 1024 * 1024,
  appendBytes: 25 * 1024 * 1024,
  literals: 1000,
  depth: 100,
};
