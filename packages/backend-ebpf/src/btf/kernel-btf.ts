import { readFileSync } from 'node:fs';
import { BtfError } from './btf-error.js';

const MAGIC = 0xeb9f;
/** BTF_KIND_* values this reader looks into. */
const STRUCT = 4;
const UNION = 5;
const TYPEDEF = 8;
const VOLATILE = 9;
const CONST = 10;
const RESTRICT = 11;
const TYPE_TAG = 18;

/** Bytes that follow a type record of each kind, per `vlen` entry or fixed (UAPI btf.h). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    default:
      return 0;
  }
}

/**
 * The kernel's own type information (`/sys/kernel/btf/vmlinux`), read for the one thing
 * programs without CO-RE relocations need: where a field sits in a kernel struct on the
 * running kernel (`task_struct.tgid`), so a raw tracepoint program can read it with
 * bpf_probe_read_kernel. Offsets differ between kernels and builds; never hard-code them.
 */
export class KernelBtf {
  readonly #view: DataView;
  readonly #strings: number;
  readonly #stringsEnd: number;
  /** Byte offset of each type record by type id (id 0 is void). */
  readonly #types: number[] = [0];
  readonly #byName = new Map<string, number>();

  private constructor(bytes: Uint8Array, source: string) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 24 || view.getUint16(0, true) !== MAGIC) {
      throw new BtfError('BTF_UNREADABLE', `${source} is not little-endian BTF (no 0xeb9f magic).`);
    }
    const headerLength = view.getUint32(4, true);
    const typeStart = headerLength + view.getUint32(8, true);
    const typeEnd = typeStart + view.getUint32(12, true);
    this.#strings = headerLength + view.getUint32(16, true);
    this.#stringsEnd = this.#strings + view.getUint32(20, true);
    this.#view = view;
    for (let at = typeStart; at < typeEnd; ) {
      const info = view.getUint32(at + 4, true);
      const kind = (info >>> 24) & 0x1f;
      if (kind === STRUCT || kind === UNION) {
        const name = this.#string(view.getUint32(at, true));
        if (name !== '' && !this.#byName.has(`${kind}:${name}`)) this.#byName.set(`${kind}:${name}`, this.#types.length);
      }
      this.#types.push(at);
      at += 12 + extraBytes(kind, info & 0xffff);
    }
  }

  /** Reads the running kernel's BTF. */
  static vmlinux(path = '/sys/kernel/btf/vmlinux'): KernelBtf {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (cause) {
      throw new BtfError('BTF_UNREADABLE', `cannot read the kernel's BTF at ${path} (a kernel built without CONFIG_DEBUG_INFO_BTF has none).`, { cause });
    }
    return new KernelBtf(bytes, path);
  }

  /**
   * The byte offset of `member` in `struct name`, looking through anonymous struct and union
   * members (where randomized or grouped fields live). A path `se.sum_exec_runtime` follows
   * named members into nested structs.
   */
  memberOffset(struct: string, path: string): number {
    let id = this.#byName.get(`${STRUCT}:${struct}`);
    if (id === undefined) throw new BtfError('BTF_MEMBER_NOT_FOUND', `the kernel's BTF has no struct ${struct}.`);
    let offset = 0;
    for (const member of path.split('.')) {
      const found = this.#find(id, member);
      if (found === undefined) throw new BtfError('BTF_MEMBER_NOT_FOUND', `the kernel's struct ${struct} has no member ${path}.`);
      offset += found.offset;
      id = found.type;
    }
    return offset;
  }

  /** A member of the struct or union `id` (or of its anonymous members): its byte offset and its type with modifiers removed. */
  #find(id: number, member: string): { offset: number; type: number } | undefined {
    const view = this.#view;
    const at = this.#types[id] as number;
    const info = view.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    if (kind !== STRUCT && kind !== UNION) return undefined;
    const bitfields = info >>> 31 === 1;
    for (let i = 0; i < (info & 0xffff); i++) {
      const m = at + 12 + 12 * i;
      const name = this.#string(view.getUint32(m, true));
      const type = this.#resolve(view.getUint32(m + 4, true));
      const rawOffset = view.getUint32(m + 8, true);
      const bits = bitfields ? rawOffset & 0xff_ffff : rawOffset;
      if (name === member) return { offset: bits >>> 3, type };
      if (name === '') {
        const inner = this.#find(type, member);
        if (inner !== undefined) return { offset: (bits >>> 3) + inner.offset, type: inner.type };
      }
    }
    return undefined;
  }

  /** Follows typedefs and qualifiers to the type they name. */
  #resolve(id: number): number {
    for (let hops = 0; hops < 32 && id !== 0; hops++) {
      const at = this.#types[id];
      if (at === undefined) return id;
      const kind = (this.#view.getUint32(at + 4, true) >>> 24) & 0x1f;
      if (kind !== TYPEDEF && kind !== VOLATILE && kind !== CONST && kind !== RESTRICT && kind !== TYPE_TAG) return id;
      id = this.#view.getUint32(at + 8, true);
    }
    return id;
  }

  #string(offset: number): string {
    const start = this.#strings + offset;
    let end = start;
    while (end < this.#stringsEnd && this.#view.getUint8(end) !== 0) end++;
    return new TextDecoder().decode(new Uint8Array(this.#view.buffer, this.#view.byteOffset + start, end - start));
  }
}
