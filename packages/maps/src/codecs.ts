import { MapError } from './errors.js';

export const U32_MAX = 0xffff_ffff;
export const U64_MAX = (1n << 64n) - 1n;

/** Checks that `key` is a u32 and returns it; `where` names the map in the message. */
export function checkKey(key: number, where: string): number {
  if (!Number.isInteger(key) || key < 0 || key > U32_MAX) {
    throw new MapError('MAP_KEY_INVALID', `${where}: key ${String(key)} is not an unsigned 32-bit integer.`);
  }
  return key;
}

/** Checks that `value` is a u64 and returns it; `where` names the map in the message. */
export function checkValue(value: bigint, where: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new MapError('MAP_VALUE_INVALID', `${where}: value ${String(value)} is not an unsigned 64-bit bigint.`);
  }
  return value;
}

/** Wraps an unbounded integer to u64, as the kernel's arithmetic does. */
export function wrapU64(value: bigint): bigint {
  return BigInt.asUintN(64, value);
}

/** Writes a u32 key in the machine's byte order (little-endian on every supported target). */
export function encodeU32(view: DataView, offset: number, key: number): void {
  view.setUint32(offset, key, true);
}

/** Reads a u32 key written by {@link encodeU32}. */
export function decodeU32(view: DataView, offset: number): number {
  return view.getUint32(offset, true);
}

/** Writes a u64 value in the machine's byte order. */
export function encodeU64(view: DataView, offset: number, value: bigint): void {
  view.setBigUint64(offset, value, true);
}

/** Reads a u64 value written by {@link encodeU64}. */
export function decodeU64(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true);
}
