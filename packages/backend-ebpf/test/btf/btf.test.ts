import { describe, expect, it } from 'vitest';
import { BTF_HEADER_SIZE, BTF_MAGIC, BtfBuilder, BtfKind, toBtfIdentifier } from '../../src/btf/btf-builder.js';
import { BtfError } from '../../src/btf/btf-error.js';
import { LINE_INFO_RECORD_SIZE, buildProgramBtf, encodeFuncInfo, encodeLineInfo } from '../../src/btf/line-info.js';

function words(bytes: Uint8Array, from: number, count: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return Array.from({ length: count }, (_, i) => view.getUint32(from + 4 * i, true));
}

function stringAt(blob: Uint8Array, offset: number): string {
  const view = new DataView(blob.buffer, blob.byteOffset);
  const start = BTF_HEADER_SIZE + view.getUint32(16, true) + offset;
  return new TextDecoder().decode(blob.subarray(start, blob.indexOf(0, start)));
}

describe('BtfBuilder', () => {
  it('writes the header, the types and the strings as the kernel reads them', () => {
    const btf = new BtfBuilder();
    const int = btf.addInt('int', 4, true);
    const ptr = btf.addPtr(0);
    const proto = btf.addFuncProto(int, [{ name: 'ctx', type: ptr }]);
    const func = btf.addFunc('policy', proto);
    expect([int, ptr, proto, func]).toEqual([1, 2, 3, 4]);
    const blob = btf.build();
    const view = new DataView(blob.buffer);
    expect(view.getUint16(0, true)).toBe(BTF_MAGIC);
    expect(view.getUint8(2)).toBe(1);
    expect(view.getUint32(4, true)).toBe(BTF_HEADER_SIZE);
    const typeLen = view.getUint32(12, true);
    expect(typeLen).toBe(4 * (4 + 3 + 5 + 3));
    expect(view.getUint32(16, true)).toBe(typeLen);
    expect(view.getUint32(20, true)).toBe(blob.length - BTF_HEADER_SIZE - typeLen);
    const types = words(blob, BTF_HEADER_SIZE, typeLen / 4);
    // int: name, INT kind, 4 bytes, signed 32 bits
    expect(types.slice(0, 4)).toEqual([1, BtfKind.INT << 24, 4, (1 << 24) | 32]);
    expect(types.slice(4, 7)).toEqual([0, BtfKind.PTR << 24, 0]);
    expect(types.slice(7, 12)).toEqual([0, (BtfKind.FUNC_PROTO << 24) | 1, 1, 5, 2]);
    // FUNC with static linkage: vlen 0
    expect(types.slice(12, 15)).toEqual([9, BtfKind.FUNC << 24, 3]);
    expect(stringAt(blob, 0)).toBe('');
    expect(stringAt(blob, 1)).toBe('int');
    expect(stringAt(blob, 5)).toBe('ctx');
    expect(stringAt(blob, 9)).toBe('policy');
  });

  it('stores each string once', () => {
    const btf = new BtfBuilder();
    expect(btf.addString('x')).toBe(btf.addString('x'));
    expect(btf.addString('')).toBe(0);
  });

  it('refuses names BTF does not accept and unknown types', () => {
    const btf = new BtfBuilder();
    expect(() => btf.addFunc('my-policy', 0)).toThrow(BtfError);
    expect(() => btf.addPtr(7)).toThrow(expect.objectContaining({ code: 'BTF_INVALID_TYPE' }));
    expect(() => btf.addString('a\0b')).toThrow(expect.objectContaining({ code: 'BTF_INVALID_NAME' }));
    expect(toBtfIdentifier('my-policy')).toBe('my_policy');
    expect(toBtfIdentifier('9lives')).toBe('_9lives');
  });
});

describe('line info', () => {
  it('packs records with line_col = line << 10 | column', () => {
    const bytes = encodeLineInfo([{ insnOff: 3, fileNameOff: 1, lineOff: 9, line: 12, column: 5 }]);
    expect(bytes.length).toBe(LINE_INFO_RECORD_SIZE);
    expect(words(bytes, 0, 4)).toEqual([3, 1, 9, (12 << 10) | 5]);
    expect(words(encodeFuncInfo([{ insnOff: 0, typeId: 4 }]), 0, 2)).toEqual([0, 4]);
  });

  it('builds a program BTF whose records start at instruction 0 and quote each line', () => {
    const btf = buildProgramBtf({
      functionName: 'sita',
      fileName: 'sita.ts',
      anchors: [
        { slot: 0, line: 0, column: 0, text: '<prologue>' },
        { slot: 5, line: 3, column: 2, text: 'return 1;' },
        { slot: 7, line: 3, column: 2, text: 'return 1;' },
        { slot: 9, line: 4, column: 1, text: 'return PASS;\r' },
      ],
    });
    expect(btf.lines.map((l) => [l.insnOff, l.line, l.column])).toEqual([
      [0, 0, 0],
      [5, 3, 2],
      [9, 4, 1],
    ]);
    expect(btf.lineInfo).toMatchObject({ recordSize: 16, count: 3 });
    expect(stringAt(btf.blob, btf.lines[0]!.fileNameOff)).toBe('sita.ts');
    expect(stringAt(btf.blob, btf.lines[2]!.lineOff)).toBe('return PASS;');
    expect(btf.funcInfo).toMatchObject({ recordSize: 8, count: 1 });
    expect(words(btf.funcInfo.data, 0, 2)).toEqual([0, btf.functionTypeId]);
  });

  it('refuses records that do not start at 0 or do not increase', () => {
    const at = (slot: number) => ({ slot, line: 1, column: 1, text: '' });
    expect(() => buildProgramBtf({ functionName: 'f', fileName: 'f.ts', anchors: [at(1)] })).toThrow(BtfError);
    expect(() => buildProgramBtf({ functionName: 'f', fileName: 'f.ts', anchors: [at(0), at(4), at(4)] })).toThrow(
      expect.objectContaining({ code: 'BTF_INVALID_RECORD' }),
    );
  });
});
