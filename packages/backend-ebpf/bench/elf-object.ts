/**
 * Just enough of an ELF64 reader to load what `clang -target bpf` writes, without libbpf: the
 * bytes of one program section, with its map references patched to fds the caller created.
 * A map reference is an `ld_imm64` with an R_BPF_64_64 relocation against the map's symbol;
 * patching sets the instruction's source register to BPF_PSEUDO_MAP_FD and its immediate to
 * the fd, which is what libbpf does for legacy map sections.
 */

const SHT_SYMTAB = 2;
const SHT_REL = 9;
const SECTION_HEADER_SIZE = 64;
const SYMBOL_SIZE = 24;
const REL_SIZE = 16;
/** R_BPF_64_64: a 64-bit immediate (ld_imm64) holding a symbol's address. */
const R_BPF_64_64 = 1;
const BPF_PSEUDO_MAP_FD = 1;
const INSN_SIZE = 8;

interface Section {
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
}

export interface ElfRelocation {
  /** Byte offset of the instruction in its section. */
  readonly offset: number;
  readonly type: number;
  readonly symbol: string;
}

export class BpfObject {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #sections: readonly Section[];

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = this.#view.getUint32(0, false);
    if (magic !== 0x7f45_4c46 || bytes[4] !== 2 || bytes[5] !== 1) throw new Error('not a little-endian ELF64 object');
    const shoff = Number(this.#view.getBigUint64(0x28, true));
    const shnum = this.#view.getUint16(0x3c, true);
    const shstrndx = this.#view.getUint16(0x3e, true);
    const raw = Array.from({ length: shnum }, (_, i) => {
      const at = shoff + i * SECTION_HEADER_SIZE;
      return {
        nameOffset: this.#view.getUint32(at, true),
        type: this.#view.getUint32(at + 4, true),
        offset: Number(this.#view.getBigUint64(at + 24, true)),
        size: Number(this.#view.getBigUint64(at + 32, true)),
        link: this.#view.getUint32(at + 40, true),
        info: this.#view.getUint32(at + 44, true),
      };
    });
    const names = raw[shstrndx];
    if (names === undefined) throw new Error('the object has no section name table');
    this.#sections = raw.map((s) => ({ ...s, name: this.#string(names.offset, s.nameOffset) }));
  }

  /** The instruction bytes of section `name` (a copy). */
  sectionBytes(name: string): Uint8Array {
    const section = this.#section(name);
    return this.#bytes.slice(section.offset, section.offset + section.size);
  }

  /** The relocations that apply to section `name`. */
  relocations(name: string): ElfRelocation[] {
    const index = this.#sections.findIndex((s) => s.name === name);
    const rel = this.#sections.find((s) => s.type === SHT_REL && s.info === index);
    if (rel === undefined) return [];
    const symtab = this.#sections[rel.link];
    if (symtab === undefined || symtab.type !== SHT_SYMTAB) throw new Error(`relocations of '${name}' name no symbol table`);
    const strtab = this.#sections[symtab.link]!;
    const out: ElfRelocation[] = [];
    for (let at = rel.offset; at < rel.offset + rel.size; at += REL_SIZE) {
      const offset = Number(this.#view.getBigUint64(at, true));
      const info = this.#view.getBigUint64(at + 8, true);
      const symbolIndex = Number(info >> 32n);
      const nameOffset = this.#view.getUint32(symtab.offset + symbolIndex * SYMBOL_SIZE, true);
      out.push({ offset, type: Number(info & 0xffff_ffffn), symbol: this.#string(strtab.offset, nameOffset) });
    }
    return out;
  }

  /**
   * The program in section `name`, ready for BPF_PROG_LOAD: every map reference patched to the
   * fd `mapFd(symbol)` gives. Any other relocation (a call to a function not inlined, data in
   * .rodata) is refused: the C sources are written not to need them.
   */
  program(name: string, mapFd: (symbol: string) => number): Uint8Array {
    const bytes = this.sectionBytes(name);
    for (const rel of this.relocations(name)) {
      if (rel.type !== R_BPF_64_64) throw new Error(`section '${name}' has relocation type ${rel.type} against '${rel.symbol}'; only map references are supported`);
      const at = rel.offset;
      if (bytes[at] !== 0x18) throw new Error(`relocation at ${at} of '${name}' is not on an ld_imm64`);
      bytes[at + 1] = ((bytes[at + 1] ?? 0) & 0x0f) | (BPF_PSEUDO_MAP_FD << 4);
      new DataView(bytes.buffer, bytes.byteOffset).setInt32(at + 4, mapFd(rel.symbol), true);
    }
    return bytes;
  }

  /** Instruction slots of section `name`. */
  slots(name: string): number {
    return this.#section(name).size / INSN_SIZE;
  }

  #section(name: string): Section {
    const section = this.#sections.find((s) => s.name === name);
    if (section === undefined) throw new Error(`the object has no section '${name}'`);
    return section;
  }

  #string(tableOffset: number, offset: number): string {
    const start = tableOffset + offset;
    const end = this.#bytes.indexOf(0, start);
    return new TextDecoder().decode(this.#bytes.subarray(start, end < 0 ? undefined : end));
  }
}
