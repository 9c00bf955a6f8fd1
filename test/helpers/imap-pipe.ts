import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

const LF = 0x0a;
const LITERAL_AT_END = /\{(\d+)\}\r\n$/;

/**
 * A raw IMAP connection that works in bytes, for replies too big to keep as
 * lines: it can stop reading (`hold`) while commands pile up, then check
 * everything that arrives against the bytes expected, as they stream in.
 */
export class ImapPipe {
  private chunks: Buffer[] = [];
  private listener: ((chunk: Buffer) => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.listener ? this.listener(chunk) : this.chunks.push(chunk)));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<ImapPipe> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const pipe = new ImapPipe(socket);
    await pipe.reply('*');
    return pipe;
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Sends a command and resolves with every byte of its reply, the tagged line included. */
  async command(tag: string, text: string): Promise<Buffer> {
    this.write(`${tag} ${text}\r\n`);
    return this.reply(tag);
  }

  /**
   * Resolves with the bytes up to and including the first line that starts
   * with `tag` and a space (or, for '*', any first line), literals skipped
   * over; the bytes after it stay for the next call.
   */
  reply(tag: string, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const taken: Buffer[] = [];
      let literalLeft = 0;
      let line: Buffer[] = [];
      // After a literal the same response goes on: that text starts no response.
      let continued = false;
      const timer = setTimeout(() => {
        this.listener = null;
        reject(new Error(`no reply tagged ${tag} within ${timeoutMs} ms`));
      }, timeoutMs);
      const feed = (chunk: Buffer): void => {
        let pos = 0;
        while (pos < chunk.length) {
          if (literalLeft > 0) {
            const n = Math.min(literalLeft, chunk.length - pos);
            literalLeft -= n;
            pos += n;
            continue;
          }
          const lf = chunk.indexOf(LF, pos);
          if (lf < 0) {
            line.push(chunk.subarray(pos));
            pos = chunk.length;
            break;
          }
          line.push(chunk.subarray(pos, lf + 1));
          pos = lf + 1;
          const text = Buffer.concat(line).toString('latin1');
          const startsResponse = !continued;
          line = [];
          const literal = LITERAL_AT_END.exec(text);
          continued = literal !== null;
          if (literal !== null) {
            literalLeft = Number(literal[1]);
            continue;
          }
          if (startsResponse && (tag === '*' || text.startsWith(`${tag} `))) {
            taken.push(chunk.subarray(0, pos));
            if (pos < chunk.length) this.chunks.unshift(chunk.subarray(pos));
            clearTimeout(timer);
            this.listener = null;
            resolve(Buffer.concat(taken));
            return;
          }
        }
        taken.push(chunk);
      };
      this.listener = feed;
      const queued = this.chunks;
      this.chunks = [];
      for (const chunk of queued) {
        if (this.listener !== feed) {
          this.chunks.push(chunk);
          continue;
        }
        feed(chunk);
      }
    });
  }

  /** Stops reading: what the server sends stays in its buffers and the kernel's. */
  hold(): void {
    this.socket.pause();
  }

  /**
   * Reads again and checks every byte that arrives against `expected`, in
   * order; resolves once all of it has arrived, rejects at the first
   * difference, or after `timeoutMs`.
   */
  expectStream(expected: Iterable<Buffer>, timeoutMs: number): Promise<{ bytes: number }> {
    return new Promise((resolve, reject) => {
      const parts = expected[Symbol.iterator]();
      let current = parts.next();
      let offset = 0;
      let bytes = 0;
      const finish = (error: Error | null): void => {
        clearTimeout(timer);
        this.listener = null;
        if (error) reject(error);
        else resolve({ bytes });
      };
      const timer = setTimeout(() => finish(new Error(`stream incomplete after ${timeoutMs} ms: ${bytes} bytes matched`)), timeoutMs);
      const feed = (chunk: Buffer): void => {
        let pos = 0;
        while (pos < chunk.length) {
          if (current.done) return finish(new Error(`unexpected bytes after the end: ${JSON.stringify(chunk.toString('latin1', pos, pos + 80))}`));
          const want = current.value;
          const n = Math.min(want.length - offset, chunk.length - pos);
          if (chunk.compare(want, offset, offset + n, pos, pos + n) !== 0) {
            const got = chunk.toString('latin1', pos, pos + Math.min(n, 80));
            const wanted = want.toString('latin1', offset, offset + Math.min(n, 80));
            return finish(new Error(`stream differs after ${bytes} bytes: got ${JSON.stringify(got)}, expected ${JSON.stringify(wanted)}`));
          }
          pos += n;
          offset += n;
          bytes += n;
          if (offset === want.length) {
            current = parts.next();
            offset = 0;
          }
        }
        if (current.done) finish(null);
      };
      this.listener = feed;
      const queued = this.chunks;
      this.chunks = [];
      for (const chunk of queued) feed(chunk);
      this.socket.resume();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
