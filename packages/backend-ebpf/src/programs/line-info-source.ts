import type { SourceLocation } from '../asm/index.js';
import type { RecordArray } from '../syscalls/syscalls.js';

/** `struct bpf_line_info`: insn_off, file_name_off, line_off, line_col (line << 10 | column). */
export const LINE_INFO_RECORD_SIZE = 16;
const BTF_MAGIC = 0xeb9f;
const BTF_HEADER_STRING_OFFSET = 16;

/**
 * The source location BTF line info gives an instruction slot: the record with the largest
 * `insn_off` at or before the slot, its file name read from the blob's string section. Pure,
 * so a loader can map a verifier error back to the policy even when the instructions carry no
 * `source` of their own. Undefined when the blob or records are malformed.
 */
export function sourceFromLineInfo(btf: Uint8Array, lineInfo: RecordArray, slot: number): SourceLocation | undefined {
  if (lineInfo.recordSize < LINE_INFO_RECORD_SIZE || lineInfo.data.length < lineInfo.count * lineInfo.recordSize) return undefined;
  const records = new DataView(lineInfo.data.buffer, lineInfo.data.byteOffset, lineInfo.data.byteLength);
  let best = -1;
  let bestOffset = -1;
  for (let i = 0; i < lineInfo.count; i++) {
    const insnOff = records.getUint32(i * lineInfo.recordSize, true);
    if (insnOff <= slot && insnOff >= bestOffset) {
      best = i;
      bestOffset = insnOff;
    }
  }
  if (best < 0) return undefined;
  const at = best * lineInfo.recordSize;
  const file = btfString(btf, records.getUint32(at + 4, true));
  if (file === undefined) return undefined;
  const lineCol = records.getUint32(at + 12, true);
  return { file, line: lineCol >>> 10, column: lineCol & 0x3ff };
}

/** The NUL-terminated string at `offset` in a BTF blob's string section. */
export function btfString(btf: Uint8Array, offset: number): string | undefined {
  if (btf.length < 24) return undefined;
  const view = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (view.getUint16(0, true) !== BTF_MAGIC) return undefined;
  const headerLength = view.getUint32(4, true);
  const stringStart = headerLength + view.getUint32(BTF_HEADER_STRING_OFFSET, true);
  const stringLength = view.getUint32(BTF_HEADER_STRING_OFFSET + 4, true);
  if (offset >= stringLength || stringStart + stringLength > btf.length) return undefined;
  const begin = stringStart + offset;
  const end = btf.indexOf(0, begin);
  if (end < 0 || end > stringStart + stringLength) return undefined;
  return new TextDecoder().decode(btf.subarray(begin, end));
}
