import { BtfError } from './btf-error.js';

/** `BTF_MAGIC` of include/uapi/linux/btf.h, written little-endian. */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of `struct btf_header`. */
export const BTF_HEADER_SIZE = 24;

/** `BTF_KIND_*` values of the kinds this builder writes. */
export const BtfKind = Object.freeze({ INT: 1, PTR: 2, FUNC: 12, FUNC_PROTO: 13 });

/** `enum btf_func_linkage`: static functions skip the verifier's argument-type checks. */
export type BtfLinkage = 'static' | 'global';
const LINKAGE: Readonly<Record<BtfLinkage, number>> = { static: 0, global: 1 };

const BTF_INT_SIGNED = 1;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A type id; 0 is `void`. */
export type BtfTypeId = number;

/**
 * Builds a BTF blob (the kernel's type format) with the few kinds a program's line info needs.
 * Type ids are handed out from 1 in the order types are added; strings are deduplicated.
 */
export class BtfBuilder {
  readonly #types: number[][] = [];
  readonly #strings: string[] = [''];
  readonly #stringOffsets = new Map<string, number>([['', 0]]);
  #stringBytes = 1;

  /** Adds `text` to the string section (once) and returns its offset. */
  addString(text: string): number {
    const known = this.#stringOffsets.get(text);
    if (known !== undefined) return known;
    if (text.includes('\0')) throw new BtfError('BTF_INVALID_NAME', 'a BTF string cannot contain a NUL character.');
    const offset = this.#stringBytes;
    this.#strings.push(text);
    this.#stringOffsets.set(text, offset);
    this.#stringBytes += Buffer.byteLength(text, 'utf8') + 1;
    return offset;
  }

  /** An integer type of `bytes` bytes. */
  addInt(name: string, bytes: 1 | 2 | 4 | 8, signed: boolean): BtfTypeId {
    const nameOff = this.addString(identifier(name));
    return this.#add([nameOff, info(BtfKind.INT, 0), bytes, ((signed ? BTF_INT_SIGNED : 0) << 24) | (bytes * 8)]);
  }

  /** A pointer to `target` (0 for `void *`). */
  addPtr(target: BtfTypeId): BtfTypeId {
    this.#check(target);
    return this.#add([0, info(BtfKind.PTR, 0), target]);
  }

  /** A function signature: return type and named parameters. */
  addFuncProto(returns: BtfTypeId, params: readonly { readonly name: string; readonly type: BtfTypeId }[]): BtfTypeId {
    this.#check(returns);
    const words = [0, info(BtfKind.FUNC_PROTO, params.length), returns];
    for (const param of params) {
      this.#check(param.type);
      words.push(this.addString(identifier(param.name)), param.type);
    }
    return this.#add(words);
  }

  /** A function of signature `proto`. */
  addFunc(name: string, proto: BtfTypeId, linkage: BtfLinkage = 'static'): BtfTypeId {
    this.#check(proto);
    return this.#add([this.addString(identifier(name)), info(BtfKind.FUNC, LINKAGE[linkage]), proto]);
  }

  /** The blob: header, type section, string section. */
  build(): Uint8Array {
    const typeWords = this.#types.reduce((sum, t) => sum + t.length, 0);
    const typeLen = typeWords * 4;
    const strings = Buffer.from(this.#strings.map((s) => `${s}\0`).join(''), 'utf8');
    const bytes = new Uint8Array(BTF_HEADER_SIZE + typeLen + strings.length);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, BTF_MAGIC, true);
    view.setUint8(2, BTF_VERSION);
    view.setUint8(3, 0);
    view.setUint32(4, BTF_HEADER_SIZE, true);
    view.setUint32(8, 0, true);
    view.setUint32(12, typeLen, true);
    view.setUint32(16, typeLen, true);
    view.setUint32(20, strings.length, true);
    let at = BTF_HEADER_SIZE;
    for (const type of this.#types) {
      for (const word of type) {
        view.setUint32(at, word >>> 0, true);
        at += 4;
      }
    }
    bytes.set(strings, at);
    return bytes;
  }

  #add(words: number[]): BtfTypeId {
    this.#types.push(words);
    return this.#types.length;
  }

  #check(type: BtfTypeId): void {
    if (!Number.isInteger(type) || type < 0 || type > this.#types.length) {
      throw new BtfError('BTF_INVALID_TYPE', `BTF type id ${String(type)} has not been added.`);
    }
  }
}

function info(kind: number, vlen: number): number {
  return ((kind << 24) | (vlen & 0xffff)) >>> 0;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new BtfError('BTF_INVALID_NAME', `'${name}' is not a C identifier, which BTF requires here.`);
  return name;
}

/** Turns any name into a C identifier BTF accepts (policy names contain dashes). */
export function toBtfIdentifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}
