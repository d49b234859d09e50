import { BtfBuilder, toBtfIdentifier, type BtfTypeId } from './btf-builder.js';
import { BtfError } from './btf-error.js';

/** `sizeof(struct bpf_line_info)`. */
export const LINE_INFO_RECORD_SIZE = 16;
/** `sizeof(struct bpf_func_info)`. */
export const FUNC_INFO_RECORD_SIZE = 8;
/** Columns get 10 bits of `line_col`, lines the other 22. */
const MAX_COLUMN = (1 << 10) - 1;
const MAX_LINE = (1 << 22) - 1;

/** One `struct bpf_line_info`: the source line of the instructions from `insnOff` on. */
export interface LineInfoRecord {
  /** Instruction slot (LD_IMM64 counts two). */
  readonly insnOff: number;
  readonly fileNameOff: number;
  /** String offset of the line's text, which the verifier log quotes. */
  readonly lineOff: number;
  readonly line: number;
  readonly column: number;
}

/** Records as `BPF_PROG_LOAD` takes them: record size, count and the packed bytes. */
export interface BtfRecords {
  readonly recordSize: number;
  readonly count: number;
  readonly data: Uint8Array;
}

/** What a program needs to load with BTF: the blob for BPF_BTF_LOAD, then func and line info. */
export interface GeneratedBtf {
  readonly blob: Uint8Array;
  /** One record: the program's function at slot 0. The kernel also accepts a load without it. */
  readonly funcInfo: BtfRecords;
  readonly lineInfo: BtfRecords;
  /** `lineInfo` decoded, for tests and for mapping slots to lines without the kernel. */
  readonly lines: readonly LineInfoRecord[];
  readonly functionTypeId: BtfTypeId;
}

/** A source line that starts at `slot`. */
export interface LineAnchor {
  readonly slot: number;
  readonly line: number;
  readonly column: number;
  /** The line's text; the verifier prints it as `; <text> @ <file>:<line>`. */
  readonly text: string;
}

/** Packs line info records, little-endian, `line_col = line << 10 | column`. */
export function encodeLineInfo(records: readonly LineInfoRecord[]): Uint8Array {
  const bytes = new Uint8Array(records.length * LINE_INFO_RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  records.forEach((r, i) => {
    const at = i * LINE_INFO_RECORD_SIZE;
    view.setUint32(at, r.insnOff, true);
    view.setUint32(at + 4, r.fileNameOff, true);
    view.setUint32(at + 8, r.lineOff, true);
    view.setUint32(at + 12, ((Math.min(r.line, MAX_LINE) << 10) | Math.min(r.column, MAX_COLUMN)) >>> 0, true);
  });
  return bytes;
}

/** Packs func info records: `{ insn_off, type_id }`. */
export function encodeFuncInfo(records: readonly { readonly insnOff: number; readonly typeId: BtfTypeId }[]): Uint8Array {
  const bytes = new Uint8Array(records.length * FUNC_INFO_RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  records.forEach((r, i) => {
    view.setUint32(i * FUNC_INFO_RECORD_SIZE, r.insnOff, true);
    view.setUint32(i * FUNC_INFO_RECORD_SIZE + 4, r.typeId, true);
  });
  return bytes;
}

/**
 * Builds the BTF of a one-function program: types `int`, `void *`, `int (void *ctx)` and a
 * static FUNC named after the program (static, so the verifier does not check its argument
 * against a context type); strings: the file name and the text of every anchored line. The
 * kernel needs the first record at slot 0 and strictly increasing slots; consecutive anchors
 * on the same line and column are merged.
 */
export function buildProgramBtf(options: {
  readonly functionName: string;
  readonly fileName: string;
  readonly anchors: readonly LineAnchor[];
}): GeneratedBtf {
  const { anchors } = options;
  if (anchors[0]?.slot !== 0) throw new BtfError('BTF_INVALID_RECORD', 'line info must start with a record at instruction 0.');
  const btf = new BtfBuilder();
  const int = btf.addInt('int', 4, true);
  const voidPtr = btf.addPtr(0);
  const proto = btf.addFuncProto(int, [{ name: 'ctx', type: voidPtr }]);
  const functionTypeId = btf.addFunc(toBtfIdentifier(options.functionName), proto, 'static');
  const fileNameOff = btf.addString(options.fileName);

  const lines: LineInfoRecord[] = [];
  let previous: LineAnchor | undefined;
  for (const anchor of anchors) {
    if (previous !== undefined && anchor.slot <= previous.slot) {
      throw new BtfError('BTF_INVALID_RECORD', `line info slots must increase, but ${anchor.slot} follows ${previous.slot}.`);
    }
    const same = previous !== undefined && previous.line === anchor.line && previous.column === anchor.column && previous.text === anchor.text;
    previous = anchor;
    if (same) continue;
    const lineOff = btf.addString(anchor.text.replace(/\r$/, ''));
    lines.push({ insnOff: anchor.slot, fileNameOff, lineOff, line: anchor.line, column: anchor.column });
  }
  return {
    blob: btf.build(),
    funcInfo: { recordSize: FUNC_INFO_RECORD_SIZE, count: 1, data: encodeFuncInfo([{ insnOff: 0, typeId: functionTypeId }]) },
    lineInfo: { recordSize: LINE_INFO_RECORD_SIZE, count: lines.length, data: encodeLineInfo(lines) },
    lines,
    functionTypeId,
  };
}
