import { ERRNO } from '../../errors/errno.js';

/**
 * The fake kernel's view of user memory: every array the fake hands out or is given an
 * address for is a region, and an address is `region << 32 | offset`, so the fake can
 * resolve the pointers in an attr (including pointers into the middle of a region) in O(1).
 */
export class FakeMemory {
  readonly #regions = new Map<number, Uint8Array>();
  #nextRegion = 1;

  /** Registers `bytes` and returns its fake address. */
  register(bytes: Uint8Array): bigint {
    const region = this.#nextRegion++;
    this.#regions.set(region, bytes);
    return BigInt(region) << 32n;
  }

  /** Points an existing address at other memory, as MAP_FIXED does. */
  replace(address: bigint, bytes: Uint8Array): void {
    this.#regions.set(Number(address >> 32n), bytes);
  }

  unregister(address: bigint): boolean {
    return this.#regions.delete(Number(address >> 32n));
  }

  /** The `length` bytes at `address`, or a negated EFAULT when they are not all mapped. */
  resolve(address: bigint, length: number): Uint8Array | number {
    const region = this.#regions.get(Number(address >> 32n));
    const offset = Number(address & 0xffff_ffffn);
    if (address === 0n || region === undefined || offset + length > region.length) return -ERRNO.EFAULT;
    return region.subarray(offset, offset + length);
  }

  /** The NUL-terminated string at `address`. */
  resolveString(address: bigint): string | number {
    const region = this.#regions.get(Number(address >> 32n));
    if (address === 0n || region === undefined) return -ERRNO.EFAULT;
    const start = Number(address & 0xffff_ffffn);
    const end = region.indexOf(0, start);
    if (end < 0) return -ERRNO.EFAULT;
    return new TextDecoder().decode(region.subarray(start, end));
  }

  /** The whole region that starts at `address`, for memoryView. */
  regionAt(address: bigint): Uint8Array | undefined {
    if ((address & 0xffff_ffffn) !== 0n) return undefined;
    return this.#regions.get(Number(address >> 32n));
  }
}
