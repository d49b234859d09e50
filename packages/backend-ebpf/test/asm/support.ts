import { encode, type AsmItem, type EncodeOptions } from '../../src/asm/index.js';

/** Hex of an encoded program, one space-separated group of 16 digits per 8-byte slot. */
export function hex(items: AsmItem | readonly AsmItem[], options?: EncodeOptions): string {
  const bytes = encode(Array.isArray(items) ? items : [items as AsmItem], options);
  return toHex(bytes);
}

export function toHex(bytes: Uint8Array): string {
  const slots: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    slots.push(Buffer.from(bytes.subarray(at, at + 8)).toString('hex'));
  }
  return slots.join(' ');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replaceAll(' ', ''), 'hex'));
}
