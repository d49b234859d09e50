import { HEADER_BYTES } from '../wire/request-header.js';

/** Where a reply puts the worker index (u32 big-endian), right after the echoed header. */
export const WORKER_INDEX_OFFSET = HEADER_BYTES;
/** Where a reply's value bytes start. */
export const VALUE_OFFSET = HEADER_BYTES + 4;
/** Where the key sits in a request (u64 big-endian). */
export const KEY_OFFSET = 16;
/** The largest value a reply can carry in one UDP datagram over IPv4 (65507 bytes of payload). */
export const MAX_VALUE_BYTES = 65_507 - VALUE_OFFSET;

/**
 * A worker's store, working in place on the worker's packet buffer: the request is at offset
 * 0, and a GET's value goes to VALUE_OFFSET of the same buffer, which then is the reply.
 */
export interface RequestStore {
  /** lmdb-js resets its read snapshot from a timer, so that worker must let its event loop run now and then. */
  readonly needsEventLoop: boolean;
  /** GET of the request's key: writes the value at VALUE_OFFSET and returns its length (0 for a missing key). */
  get(): number;
  /** SCAN from the request's key: the number of keys read. */
  scan(): number;
  /** PUT of the request's key: the value is bytes HEADER_BYTES to `length` of the request. */
  put(length: number): void;
  close(): void;
}

/**
 * The value a key starts with, in both store modes: its 8 key bytes (big-endian, as on the
 * wire) repeated to `size` bytes, so a client can check a GET reply from the key alone.
 */
export function fillKeyValue(key: Uint8Array, out: Uint8Array, offset: number, size: number): void {
  for (let i = 0; i < size; i++) out[offset + i] = key[i % 8] as number;
}
