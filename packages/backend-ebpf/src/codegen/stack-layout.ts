import { CodegenError, type CodegenErrorLocation } from './codegen-error.js';

/** The eBPF stack: 512 bytes below the frame pointer r10. */
export const MAX_STACK_SIZE = 512;

/**
 * Hands out 8-byte aligned regions below the frame pointer. Every region is 8-byte aligned so
 * that spills (which must be 8-byte `STX DW` to aligned slots) and helper buffers can share it.
 */
export class StackLayout {
  #size = 0;
  readonly #regions: { readonly name: string; readonly offset: number; readonly bytes: number }[] = [];

  /**
   * Reserves `bytes` (rounded up to 8) and returns the offset of its lowest byte, negative from
   * r10. `location` is the policy construct that needs the region (a spill: the value that must
   * live on the stack while the others do); a refusal names it, as `file:line:column:`.
   */
  reserve(name: string, bytes: number, location?: CodegenErrorLocation): number {
    const rounded = Math.ceil(bytes / 8) * 8;
    this.#size += rounded;
    if (this.#size > MAX_STACK_SIZE) {
      const where = location === undefined ? '' : `${location.file}:${location.line}:${location.column}: `;
      throw new CodegenError(
        'CODEGEN_STACK_OVERFLOW',
        `${where}the program needs more than the ${MAX_STACK_SIZE} bytes of eBPF stack (at ${name}); the policy keeps too many values alive at once.`,
        location === undefined ? undefined : { location },
      );
    }
    const offset = -this.#size;
    this.#regions.push({ name, offset, bytes: rounded });
    return offset;
  }

  /** Bytes used so far. */
  get size(): number {
    return this.#size;
  }

  /** Regions reserved so far, for tests and debugging. */
  get regions(): readonly { readonly name: string; readonly offset: number; readonly bytes: number }[] {
    return this.#regions;
  }
}
