import { describe, expect, it } from 'vitest';
import { BpfAttrError } from '../../src/errors/bpf-attr-error.js';
import {
  checkObjectName,
  cString,
  encodeLinkCreate,
  encodeLinkUpdate,
  encodeMapCreate,
  encodeMapElem,
  encodeProgLoad,
  encodeProgTestRun,
  sanitizeObjectName,
  type AddressOf,
} from '../../src/syscalls/bpf-attr.js';
import { BPF_ATTR_SIZE, MapFlag, MapType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

function attr(): DataView {
  return new DataView(new ArrayBuffer(BPF_ATTR_SIZE));
}

/** An AddressOf that hands out 0x1000, 0x2000, ... and remembers which array got which. */
function addresses(): { addressOf: AddressOf; given: Map<bigint, Uint8Array> } {
  const given = new Map<bigint, Uint8Array>();
  let next = 0x1000n;
  return {
    given,
    addressOf: (bytes) => {
      if (bytes === undefined || bytes.length === 0) return 0n;
      const address = next;
      next += 0x1000n;
      given.set(address, bytes);
      return address;
    },
  };
}

describe('bpf_attr encoders', () => {
  it('writes MAP_CREATE fields at the UAPI offsets', () => {
    const sys = new FakeSyscalls();
    const inner = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    const view = attr();
    encodeMapCreate(view, {
      mapType: MapType.LRU_HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 1024,
      mapFlags: MapFlag.MMAPABLE,
      innerMap: inner,
      name: 'next.x_1',
      mapExtra: 5n,
    });
    expect(view.getUint32(0, true)).toBe(9);
    expect(view.getUint32(4, true)).toBe(4);
    expect(view.getUint32(8, true)).toBe(8);
    expect(view.getUint32(12, true)).toBe(1024);
    expect(view.getUint32(16, true)).toBe(1024);
    expect(view.getUint32(20, true)).toBe(inner.raw);
    expect(new TextDecoder().decode(new Uint8Array(view.buffer, 28, 8))).toBe('next.x_1');
    expect(new Uint8Array(view.buffer, 36, 8).every((b) => b === 0)).toBe(true);
    expect(view.getBigUint64(64, true)).toBe(5n);
    inner.close();
  });

  it('refuses names the kernel refuses, and sanitizes any string into a valid name', () => {
    expect(() => checkObjectName('sixteen_chars_xx', 'map_name')).toThrow(BpfAttrError);
    expect(() => checkObjectName('has-dash', 'map_name')).toThrow(/A-Z, a-z, 0-9/);
    expect(checkObjectName('fifteen_chars_x', 'map_name')).toHaveLength(15);
    expect(sanitizeObjectName('my-policy/next counter')).toBe('my_policy_next_');
    expect(() => checkObjectName(sanitizeObjectName('ünïcode-名前'), 'map_name')).not.toThrow();
  });

  it('refuses numbers that do not fit a u32 field instead of wrapping them', () => {
    const error = (() => {
      try {
        encodeMapCreate(attr(), { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 2 ** 32 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BpfAttrError);
    expect((error as BpfAttrError).field).toBe('max_entries');
    expect((error as BpfAttrError).code).toBe('BPF_ATTR_INVALID');
    expect(() => encodeMapCreate(attr(), { mapType: 2, keySize: -1, valueSize: 8, maxEntries: 1 })).toThrow(/key_size/);
  });

  it('writes the four element fields of MAP_*_ELEM', () => {
    const view = attr();
    encodeMapElem(view, 7, 0x1122n, 0x3344n, 2);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getBigUint64(8, true)).toBe(0x1122n);
    expect(view.getBigUint64(16, true)).toBe(0x3344n);
    expect(view.getBigUint64(24, true)).toBe(2n);
  });

  it('writes PROG_LOAD with pointers to the instructions, license and log', () => {
    const { addressOf, given } = addresses();
    const view = attr();
    const insns = new Uint8Array(16);
    const log = new Uint8Array(4096);
    encodeProgLoad(view, { progType: 6, insns, license: 'GPL', logLevel: 1, logBuffer: log, name: 'sita', expectedAttachType: 37 }, addressOf);
    expect(view.getUint32(0, true)).toBe(6);
    expect(view.getUint32(4, true)).toBe(2);
    expect(given.get(view.getBigUint64(8, true))).toBe(insns);
    expect(given.get(view.getBigUint64(16, true))).toEqual(cString('GPL'));
    expect(view.getUint32(24, true)).toBe(1);
    expect(view.getUint32(28, true)).toBe(4096);
    expect(given.get(view.getBigUint64(32, true))).toBe(log);
    expect(new TextDecoder().decode(new Uint8Array(view.buffer, 48, 4))).toBe('sita');
    expect(view.getUint32(68, true)).toBe(37);
  });

  it('leaves the log out at log level 0, because the kernel refuses a buffer without a level', () => {
    const view = attr();
    encodeProgLoad(view, { progType: 6, insns: new Uint8Array(8), license: 'GPL', logBuffer: new Uint8Array(64) }, addresses().addressOf);
    expect(view.getUint32(28, true)).toBe(0);
    expect(view.getBigUint64(32, true)).toBe(0n);
  });

  it('refuses instructions that are not whole 8-byte slots', () => {
    expect(() => encodeProgLoad(attr(), { progType: 6, insns: new Uint8Array(12), license: 'GPL' }, addresses().addressOf)).toThrow(
      /8 bytes each/,
    );
  });

  it('writes PROG_TEST_RUN sizes and pointers', () => {
    const sys = new FakeSyscalls();
    const prog = sys.progLoad({ progType: 6, insns: new Uint8Array(8), license: 'GPL' });
    const { addressOf, given } = addresses();
    const view = attr();
    const dataIn = new Uint8Array(64);
    const dataOut = new Uint8Array(128);
    encodeProgTestRun(view, { prog, dataIn, dataOut, repeat: 1000 }, addressOf);
    expect(view.getUint32(0, true)).toBe(prog.raw);
    expect(view.getUint32(8, true)).toBe(64);
    expect(view.getUint32(12, true)).toBe(128);
    expect(given.get(view.getBigUint64(16, true))).toBe(dataIn);
    expect(given.get(view.getBigUint64(24, true))).toBe(dataOut);
    expect(view.getUint32(32, true)).toBe(1000);
    prog.close();
  });

  it('writes LINK_CREATE with either a target fd or an ifindex, and LINK_UPDATE with BPF_F_REPLACE', () => {
    const sys = new FakeSyscalls();
    const prog = sys.progLoad({ progType: 6, insns: new Uint8Array(8), license: 'GPL' });
    const old = sys.progLoad({ progType: 6, insns: new Uint8Array(8), license: 'GPL' });
    const view = attr();
    encodeLinkCreate(view, { prog, targetIfindex: 3, attachType: 37, flags: 1 << 1 });
    expect([view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)]).toEqual([prog.raw, 3, 37, 2]);
    expect(() => encodeLinkCreate(attr(), { prog, target: old, targetIfindex: 3, attachType: 37 })).toThrow(/not both/);
    const update = attr();
    encodeLinkUpdate(update, 9, prog.raw, { oldProg: old });
    expect([update.getUint32(0, true), update.getUint32(4, true), update.getUint32(8, true), update.getUint32(12, true)]).toEqual([
      9,
      prog.raw,
      4,
      old.raw,
    ]);
    prog.close();
    old.close();
  });

  it('NUL-terminates C strings and refuses embedded NULs', () => {
    expect(cString('/sys/fs/bpf/x')).toEqual(new Uint8Array([...new TextEncoder().encode('/sys/fs/bpf/x'), 0]));
    expect(() => cString('a\0b')).toThrow(BpfAttrError);
  });
});
