/**
 * A parsed IMAP command, as the wire layer hands it to the dispatcher.
 *
 * The parser is generic (RFC 3501 §9 tokens); commands give the tokens their
 * meaning. Strings keep their bytes: mailbox names are modified UTF-7, search
 * strings follow the command's CHARSET, APPEND literals are messages.
 */
export type ImapValue = ImapAtom | ImapString | ImapList;

export interface ImapAtom {
  readonly type: 'atom';
  /** As written (case kept): `NIL`, `\Seen`, `1:*`, `BODY.PEEK`, `INBOX`. */
  readonly value: string;
  /**
   * Present only after BODY, BODY.PEEK, BINARY, BINARY.PEEK and BINARY.SIZE
   * (any case): the tokens between `[` and `]`, e.g. `BODY[HEADER.FIELDS (A B)]`
   * gives `[atom HEADER.FIELDS, list (A B)]` and `BODY[]` gives `[]`.
   */
  readonly section?: readonly ImapValue[];
  /** `<start.length>` after a section (RFC 3501 §6.4.5). */
  readonly partial?: { readonly start: number; readonly length: number };
}

export interface ImapString {
  readonly type: 'string';
  readonly value: Buffer;
  /** Sent as a `{n}` or `{n+}` literal rather than quoted. */
  readonly literal: boolean;
}

export interface ImapList {
  readonly type: 'list';
  readonly items: readonly ImapValue[];
}

export interface ImapCommand {
  /** The client's tag, as sent. */
  readonly tag: string;
  /** The command name, upper-cased (`UID` is a name; its sub-command is the first argument). */
  readonly name: string;
  readonly args: readonly ImapValue[];
}

/** An astring or nstring argument as text: atoms as written, strings decoded as UTF-8. */
export function valueText(value: ImapValue): string | null {
  if (value.type === 'atom') return value.value;
  if (value.type === 'string') return value.value.toString('utf8');
  return null;
}

export function isAtom(value: ImapValue | undefined, word?: string): value is ImapAtom {
  return value !== undefined && value.type === 'atom' && value.section === undefined && (word === undefined || value.value.toUpperCase() === word);
}
