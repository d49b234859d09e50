import dgram from 'node:dgram';
import { HEADER_BYTES, readRequestHeader, RequestType, writeRequestHeader, type RequestHeader } from '../../src/wire/request-header.js';

export interface Reply {
  readonly header: RequestHeader;
  readonly worker: number;
  readonly value: Uint8Array;
}

/** One UDP flow (one source port) to the server; requests go one at a time. */
export class KvClient implements Disposable {
  readonly #socket = dgram.createSocket('udp4');
  readonly #port: number;
  #requestId = 0n;
  #waiting: { id: bigint; resolve: (reply: Reply) => void } | undefined;

  constructor(serverPort: number) {
    this.#port = serverPort;
    this.#socket.on('message', (message) => {
      const view = new DataView(message.buffer, message.byteOffset, message.length);
      const header = readRequestHeader(view);
      if (header === undefined || message.length < HEADER_BYTES + 4 || this.#waiting?.id !== header.requestId) return;
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      resolve({ header, worker: view.getUint32(HEADER_BYTES), value: new Uint8Array(message.subarray(HEADER_BYTES + 4)) });
    });
  }

  /** The reply, or undefined when none came within `timeoutMs` (a dropped request). */
  async request(type: RequestType, key: bigint, options: { user?: number; value?: Uint8Array; timeoutMs?: number } = {}): Promise<Reply | undefined> {
    const id = ++this.#requestId;
    const bytes = new Uint8Array(HEADER_BYTES + (options.value?.length ?? 0));
    writeRequestHeader(new DataView(bytes.buffer), type, options.user ?? 0, id, key);
    if (options.value !== undefined) bytes.set(options.value, HEADER_BYTES);
    const reply = new Promise<Reply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        resolve(undefined);
      }, options.timeoutMs ?? 5000);
      this.#waiting = {
        id,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
    });
    this.#socket.send(bytes, this.#port, '127.0.0.1');
    return reply;
  }

  /** Like request, but a missing reply fails the test. */
  async ask(type: RequestType, key: bigint, options: { user?: number; value?: Uint8Array } = {}): Promise<Reply> {
    const reply = await this.request(type, key, options);
    if (reply === undefined) throw new Error(`no reply to request type ${type} key ${key}`);
    return reply;
  }

  close(): void {
    this.#socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
