import { KEY_OFFSET, VALUE_OFFSET, fillKeyValue, type RequestStore } from './request-store.js';

/**
 * No data at all: a GET answers the key's initial value (see fillKeyValue), a SCAN claims
 * `scanLength` keys, a PUT is forgotten. The service times are what the synthetic mode is about.
 */
export class SyntheticStore implements RequestStore {
  readonly needsEventLoop = false;
  readonly #packet: Uint8Array;
  readonly #key: Uint8Array;
  readonly #valueSize: number;
  readonly #scanLength: number;

  constructor(packet: ArrayBuffer, valueSize: number, scanLength: number) {
    this.#packet = new Uint8Array(packet);
    this.#key = new Uint8Array(packet, KEY_OFFSET, 8);
    this.#valueSize = valueSize;
    this.#scanLength = scanLength;
  }

  get(): number {
    fillKeyValue(this.#key, this.#packet, VALUE_OFFSET, this.#valueSize);
    return this.#valueSize;
  }

  scan(): number {
    return this.#scanLength;
  }

  put(): void {}

  close(): void {}
}
