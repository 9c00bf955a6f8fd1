import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';

/** What smtp-server's connection objects offer that the deadlines use. */
interface Connection {
  id: string;
  _socket: Socket;
  send(code: number, text: string): void;
}

interface Watch {
  connection: Connection;
  /** When the command line now being received began; null between lines. */
  lineSince: number | null;
  /** When the message content began (354); null outside DATA. */
  dataSince: number | null;
}

export interface DeadlineOptions {
  /** A command line must arrive whole within this, from its first byte. */
  commandMs: number;
  /** A message must arrive whole within this, from the 354 to the final dot. */
  dataMs: number;
  logger: Logger;
}

/**
 * Deadlines a trickle of bytes cannot extend. smtp-server's socket timeout
 * restarts at every byte, so a client sending one byte every few seconds
 * holds a connection for ever, mid-command or mid-DATA. Here a command line
 * is timed from its first byte and a message from its first, and a sweep
 * closes sessions past either deadline with 421 (RFC 5321 §4.5.3.2 names
 * timeouts per command and for the data block; these bound them from above).
 */
export class SmtpDeadlines {
  private readonly watches = new Map<string, Watch>();
  private timer: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;

  constructor(
    private readonly server: SMTPServer,
    private readonly options: DeadlineOptions,
  ) {
    this.sweepMs = Math.max(50, Math.min(1000, Math.floor(Math.min(options.commandMs, options.dataMs) / 4)));
  }

  /** Starts timing a session (from onConnect); its socket is watched for line ends. */
  open(sessionId: string): void {
    const connection = this.connectionOf(sessionId);
    if (connection === null) return;
    const watch: Watch = { connection, lineSince: null, dataSince: null };
    this.watches.set(sessionId, watch);
    this.watchSocket(watch, connection._socket);
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /** After STARTTLS the bytes arrive on a new socket. */
  upgraded(sessionId: string, socket: Socket): void {
    const watch = this.watches.get(sessionId);
    if (watch) this.watchSocket(watch, socket);
  }

  dataStarted(sessionId: string): void {
    const watch = this.watches.get(sessionId);
    if (!watch) return;
    watch.dataSince = Date.now();
    watch.lineSince = null;
  }

  dataEnded(sessionId: string): void {
    const watch = this.watches.get(sessionId);
    if (watch) watch.dataSince = null;
  }

  close(sessionId: string): void {
    this.watches.delete(sessionId);
    if (this.watches.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private watchSocket(watch: Watch, socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (watch.dataSince !== null) return;
      const lf = chunk.lastIndexOf(0x0a);
      if (lf >= 0) watch.lineSince = lf + 1 < chunk.length ? Date.now() : null;
      else watch.lineSince ??= Date.now();
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, watch] of this.watches) {
      const { lineSince, dataSince } = watch;
      let reason: string | null = null;
      if (lineSince !== null && now - lineSince > this.options.commandMs) reason = 'command line not completed in time';
      else if (dataSince !== null && now - dataSince > this.options.dataMs) reason = 'message not completed in time';
      if (reason === null) continue;
      this.options.logger.info({ session: id, remoteAddress: watch.connection._socket.remoteAddress }, `SMTP session closed: ${reason}`);
      this.watches.delete(id);
      // 421 makes smtp-server close the connection after the reply.
      watch.connection.send(421, `Timeout: ${reason}, closing connection`);
    }
  }

  /** smtp-server hands its hooks the session only; the connection holding the socket is found by id. */
  private connectionOf(sessionId: string): Connection | null {
    for (const connection of this.server.connections as unknown as Set<Connection>) if (connection.id === sessionId) return connection;
    return null;
  }
}
