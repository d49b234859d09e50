import { open, type RootDatabase } from 'lmdb';
import { HEADER_BYTES } from '../wire/request-header.js';
import { lmdbOptions } from './lmdb-options.js';
import { KEY_OFFSET, MAX_VALUE_BYTES, VALUE_OFFSET, type RequestStore } from './request-store.js';

/**
 * A worker's handle on the server's LMDB environment. The key is read in place from the
 * packet buffer through a Buffer that aliases the request's key bytes.
 */
export class LmdbRequestStore implements RequestStore {
  // lmdb-js keeps one read transaction per thread and resets it from a setTimeout(0) timer;
  // a worker that never yields would pile those timers up, so it lets its loop run now and then.
  readonly needsEventLoop = true;
  readonly #db: RootDatabase<Buffer, Buffer>;
  readonly #packet: Uint8Array;
  readonly #key: Buffer;
  readonly #scanLength: number;

  constructor(packet: ArrayBuffer, path: string, scanLength: number) {
    this.#db = open<Buffer, Buffer>(lmdbOptions(path));
    this.#packet = new Uint8Array(packet);
    this.#key = Buffer.from(packet, KEY_OFFSET, 8);
    this.#scanLength = scanLength;
  }

  get(): number {
    // A fresh snapshot per request, so a GET sees a PUT another worker has already answered.
    this.#db.resetReadTxn();
    const value = this.#db.getBinaryFast(this.#key);
    if (value === undefined) return 0;
    // getBinaryFast returns a buffer the next read reuses: copy out right away.
    const length = Math.min(value.length, MAX_VALUE_BYTES);
    this.#packet.set(value.subarray(0, length), VALUE_OFFSET);
    return length;
  }

  scan(): number {
    this.#db.resetReadTxn();
    // The range yields each entry with its value copied out, as a real scan reads them, though
    // the reply carries only the count.
    let count = 0;
    for (const _entry of this.#db.getRange({ start: this.#key, limit: this.#scanLength })) count++;
    return count;
  }

  put(length: number): void {
    this.#db.putSync(this.#key, Buffer.from(this.#packet.buffer, this.#packet.byteOffset + HEADER_BYTES, length - HEADER_BYTES));
  }

  close(): void {
    void this.#db.close();
  }
}
