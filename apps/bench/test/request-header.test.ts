import { describe, expect, it } from 'vitest';
import { HEADER_BYTES, readRequestHeader, RequestType, writeRequestHeader } from '../src/wire/request-header.js';

describe('request header', () => {
  it('round-trips and puts each field at its documented big-endian offset', () => {
    const bytes = new Uint8Array(HEADER_BYTES);
    const view = new DataView(bytes.buffer);
    writeRequestHeader(view, RequestType.SCAN, 0x01020304, 0x1112131415161718n, 0x2122232425262728n);
    expect([...bytes.subarray(0, 8)]).toEqual([0, 0, 0, 1, 1, 2, 3, 4]);
    expect([...bytes.subarray(8, 16)]).toEqual([0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
    expect([...bytes.subarray(16, 24)]).toEqual([0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28]);
    expect(readRequestHeader(view)).toEqual({ type: RequestType.SCAN, user: 0x01020304, requestId: 0x1112131415161718n, key: 0x2122232425262728n });
  });

  it('refuses short datagrams and unknown types', () => {
    expect(readRequestHeader(new DataView(new ArrayBuffer(HEADER_BYTES - 1)))).toBeUndefined();
    const view = new DataView(new ArrayBuffer(HEADER_BYTES));
    view.setUint32(0, 7);
    expect(readRequestHeader(view)).toBeUndefined();
  });
});
