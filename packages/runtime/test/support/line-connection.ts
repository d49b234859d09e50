import { createConnection, type Socket } from 'node:net';

/** A raw connection to a protocol server that hands back every line it receives, parsed. */
export interface LineConnection {
  readonly socket: Socket;
  /** True once the server closed the connection (or it failed). */
  readonly closed: boolean;
  send(data: string | Buffer): void;
  /**
   * The next line the server sent, parsed; rejects when the connection ends first or
   * `timeoutMs` passes, saying how many lines came before.
   */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Connects to a Unix socket and splits what arrives into lines; the caller destroys `socket`. */
export async function lineConnection(path: string): Promise<LineConnection> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines: string[] = [];
  const waiting: { resolve(line: string): void; reject(error: Error): void }[] = [];
  let received = 0;
  let closed = false;
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      received++;
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(line);
      else lines.push(line);
    }
  });
  const end = (): void => {
    closed = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`the server closed the connection after ${received} lines`));
  };
  socket.on('close', end);
  socket.on('error', end);
  return {
    socket,
    get closed() {
      return closed;
    },
    send: (data) => socket.write(data),
    next: (timeoutMs = 10_000) => {
      const ready = lines.shift();
      if (ready !== undefined) return parsed(ready);
      if (closed) return Promise.reject(new Error(`the server closed the connection after ${received} lines`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(waiter);
          if (index !== -1) waiting.splice(index, 1);
          reject(new Error(`no line within ${timeoutMs} ms after ${received} lines`));
        }, timeoutMs);
        const waiter = {
          resolve: (line: string) => {
            clearTimeout(timer);
            parsed(line).then(resolve, reject);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiting.push(waiter);
      });
    },
  };
}

function parsed(line: string): Promise<Record<string, unknown>> {
  try {
    return Promise.resolve(JSON.parse(line) as Record<string, unknown>);
  } catch {
    return Promise.reject(new Error(`the server sent a line that is not JSON: ${line.slice(0, 200)}`));
  }
}
