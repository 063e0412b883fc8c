/**
 * A small Redis client speaking RESP2 over one TCP connection: commands are pipelined (written
 * as they come, answered in order), and a lost connection is re-established in the background
 * with a growing delay. While it is down, commands fail at once so callers can fall back.
 */
import { connect, type Socket } from 'node:net';

export type RespValue = string | number | null | RespValue[];

export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespError';
  }
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface RespClientOptions {
  /** A command not answered within this time fails (the connection is then reset). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Called when the connection comes up or goes down (with the reason). */
  onState?: (up: boolean, reason?: string) => void;
}

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Parses one reply at `offset`. Returns the value and the offset after it, or undefined when the
 * buffer does not yet hold a whole reply. Error replies are returned as RespError values.
 */
export function parseReply(buf: Buffer, offset = 0): { value: RespValue | RespError; next: number } | undefined {
  const eol = buf.indexOf('\r\n', offset);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        if (item.value instanceof RespError) return { value: item.value, next: item.next };
        items.push(item.value);
        at = item.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new RespError(`unexpected reply type ${JSON.stringify(type)}`);
  }
}

export class RespClient {
  private socket: Socket | undefined;
  /** The socket is open (the handshake may still be running). */
  private connected = false;
  /** The handshake (AUTH, SELECT) is done: commands may be sent. */
  private ready = false;
  private closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly url: URL;
  readonly commandTimeoutMs: number;

  constructor(
    url: string,
    private readonly options: RespClientOptions = {},
  ) {
    this.url = new URL(url);
    if (this.url.protocol !== 'redis:') throw new Error(`expected a redis:// URL, got ${this.url.protocol}`);
    this.commandTimeoutMs = options.commandTimeoutMs ?? 200;
  }

  get isConnected(): boolean {
    return this.ready;
  }

  /** Connects (resolves once the connection is usable, rejects on the first failure; retries go on in the background). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const host = this.url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
      const port = Number(this.url.port || 6379);
      const socket = connect({ host, port });
      this.socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.options.connectTimeoutMs ?? 1000} ms`)), this.options.connectTimeoutMs ?? 1000);
      let settled = false;
      socket.once('connect', () => {
        clearTimeout(timer);
        this.connected = true;
        this.buffer = Buffer.alloc(0);
        this.handshake().then(
          () => {
            this.retryMs = 100;
            this.ready = true;
            settled = true;
            this.options.onState?.(true);
            resolve();
          },
          (e: Error) => socket.destroy(e),
        );
      });
      socket.on('data', (chunk) => this.onData(chunk));
      socket.on('error', () => {
        /* handled by close */
      });
      socket.once('close', () => {
        clearTimeout(timer);
        const wasUp = this.ready;
        this.connected = false;
        this.ready = false;
        this.failAll(new RespError('redis connection closed'));
        if (!settled) {
          settled = true;
          reject(new Error(`cannot connect to redis at ${host}:${port}`));
        } else if (wasUp) {
          this.options.onState?.(false, 'connection closed');
        }
        this.scheduleReconnect();
      });
    });
  }

  private async handshake(): Promise<void> {
    const password = decodeURIComponent(this.url.password);
    const user = decodeURIComponent(this.url.username);
    if (password) await this.send(user ? ['AUTH', user, password] : ['AUTH', password], true);
    const db = this.url.pathname.replace(/^\//, '');
    if (db && db !== '0') await this.send(['SELECT', db], true);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch(() => {
        /* close handler schedules the next attempt */
      });
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 2_000);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      let parsed;
      try {
        parsed = parseReply(this.buffer, offset);
      } catch (e) {
        this.socket?.destroy(e as Error);
        return;
      }
      if (!parsed) break;
      offset = parsed.next;
      const p = this.pending.shift();
      if (!p) continue;
      clearTimeout(p.timer);
      if (parsed.value instanceof RespError) p.reject(parsed.value);
      else p.resolve(parsed.value);
    }
    this.buffer = offset >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private send(args: ReadonlyArray<string | number>, handshake = false): Promise<RespValue> {
    const socket = this.socket;
    if (!socket || !this.connected || (!handshake && !this.ready)) return Promise.reject(new RespError('redis not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Replies are matched by order: after a timeout the stream cannot be trusted; reset it.
        socket.destroy(new Error('command timeout'));
      }, this.commandTimeoutMs);
      this.pending.push({ resolve, reject, timer });
      socket.write(encodeCommand(args));
    });
  }

  /** Sends one command; rejects at once when not connected. */
  command(args: ReadonlyArray<string | number>): Promise<RespValue> {
    return this.send(args);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.failAll(new RespError('client closed'));
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 200).unref();
    });
  }
}
