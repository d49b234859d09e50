import { describe, expect, it } from 'vitest';
import { exit, loadMem, Mov, R0, R1 } from '../../src/asm/index.js';
import { ERRNO } from '../../src/errors/errno.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { sourceFromLineInfo } from '../../src/programs/line-info-source.js';
import { Program } from '../../src/programs/program.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { parseVerifierLog } from '../../src/programs/verifier-log.js';
import { ProgType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';
import { caught } from '../support/caught.js';

const REJECTION = [
  '0: R1=ctx() R10=fp0',
  '0: (b7) r0 = 1                       ; R0_w=1',
  '1: (61) r0 = *(u32 *)(r1 +99)',
  'invalid bpf_context access off=99 size=4',
  'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  '',
].join('\n');

const program = [Mov.imm(R0, 1), loadMem(R0, R1, 99, 'W').withSource({ file: 'p.ts', line: 4, column: 2 }), exit()];

describe('verifier log parsing', () => {
  it('finds the failing instruction, the complaint and the source line', () => {
    const parsed = parseVerifierLog(
      ['0: R1=ctx() R10=fp0', '; return pkt[14]; @ policy.ts:3', '5: (71) r0 = *(u8 *)(r2 +14)', 'invalid access to packet, off=14 size=1', 'R2 offset is outside of the packet', 'processed 6 insns (limit 1000000)'].join('\n'),
    );
    expect(parsed.failingInstruction).toBe(5);
    expect(parsed.failingInstructionText).toBe('(71) r0 = *(u8 *)(r2 +14)');
    expect(parsed.summary).toBe('R2 offset is outside of the packet');
    expect(parsed.sourceLine).toEqual({ text: 'return pkt[14];', file: 'policy.ts', line: 3 });
    expect(parsed.truncated).toBe(false);
  });

  it('reads errors raised before the walk and notices a cut-off log', () => {
    const early = parseVerifierLog('unreachable insn 2\nprocessed 0 insns (limit 1000000)\n');
    expect(early.failingInstruction).toBeUndefined();
    expect(early.summary).toBe('unreachable insn 2');
    const cut = parseVerifierLog('0: R1=ctx() R10=fp0\n0: (b7) r0 = 1\n1: (b7) r0 = 2');
    expect(cut.truncated).toBe(true);
    expect(cut.failingInstruction).toBe(1);
  });
});

describe('Program.load against the fake kernel', () => {
  it('loads once without a log when the program is accepted', () => {
    const sys = new FakeSyscalls();
    using loaded = Program.load({ name: 'ok', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys });
    expect(sys.count('BPF_PROG_LOAD')).toBe(1);
    expect(loaded.info().name).toBe('ok');
  });

  it('repeats a refused load with a log and turns it into a VerifierError mapped to our instruction and source', () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: REJECTION });
    const before = sys.openFds();
    const error = caught(() => Program.load({ name: 'bad', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys })) as VerifierError;
    expect(sys.count('BPF_PROG_LOAD')).toBe(2);
    expect(error).toBeInstanceOf(VerifierError);
    expect(error.failingInstruction).toBe(1);
    expect(error.instruction).toBe('(61) r0 = *(u32 *)(r1 +99)');
    expect(error.source).toEqual({ file: 'p.ts', line: 4, column: 2 });
    expect(error.summary).toBe('invalid bpf_context access off=99 size=4');
    expect(error.message).toBe(
      "program 'bad' was rejected by the verifier at instruction 1 ((61) r0 = *(u32 *)(r1 +99)) from p.ts:4:2: invalid bpf_context access off=99 size=4.",
    );
    expect(sys.openFds()).toEqual(before);
  });

  it('grows the log buffer on ENOSPC to the size the kernel asks for', () => {
    const sys = new FakeSyscalls();
    const long = `${'0: R1=ctx() R10=fp0\n'.repeat(5000)}${REJECTION}`;
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: long });
    const error = caught(() => Program.load({ name: 'big', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys })) as VerifierError;
    // Without a log, with 64 KiB (too small: ENOSPC), then with the size the kernel reported.
    expect(sys.count('BPF_PROG_LOAD')).toBe(3);
    expect(error.log).toHaveLength(5005);
    expect(error.truncated).toBe(false);
  });

  it('stops growing at maxLogSize and says the log is cut', () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: `${'0: R1=ctx() R10=fp0\n'.repeat(5000)}${REJECTION}` });
    const error = caught(() =>
      Program.load({ name: 'big', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys, maxLogSize: 4096 }),
    ) as VerifierError;
    expect(error).toBeInstanceOf(VerifierError);
    expect(error.truncated).toBe(true);
  });

  it('explains EPERM without a log as missing privileges, not as a verifier rejection', () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EPERM });
    const error = caught(() => Program.load({ name: 'eperm', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys })) as ProgramError;
    expect(error).toBeInstanceOf(ProgramError);
    expect(error.code).toBe('PROGRAM_LOAD_FAILED');
    expect(error.message).toMatch(/CAP_BPF.*RLIMIT_MEMLOCK/);
  });

  it('closes the BTF fd whether the load succeeds or fails, and reports refused BTF', () => {
    const sys = new FakeSyscalls();
    const blob = new Uint8Array(24);
    const before = sys.openFds();
    Program.load({ name: 'btf', type: ProgType.XDP, license: 'GPL', instructions: program, btf: { blob } }, { sys }).close();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: REJECTION });
    expect(caught(() => Program.load({ name: 'btf', type: ProgType.XDP, license: 'GPL', instructions: program, btf: { blob } }, { sys }))).toBeInstanceOf(VerifierError);
    expect(sys.openFds()).toEqual(before);
    using _btfRefused = sys.override('btfLoad', () => {
      throw new SyscallError('BPF_BTF_LOAD', ERRNO.EINVAL);
    });
    const refused = caught(() => Program.load({ name: 'btf', type: ProgType.XDP, license: 'GPL', instructions: program, btf: { blob } }, { sys })) as ProgramError;
    expect(refused.code).toBe('PROGRAM_BTF_REJECTED');
    expect(sys.openFds()).toEqual(before);
  });

  it('refuses to adopt an fd that is not a program, closing it', () => {
    const sys = new FakeSyscalls();
    const map = sys.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect((caught(() => Program.fromFd(map, { sys })) as ProgramError).code).toBe('PROGRAM_INCOMPATIBLE');
    expect(map.closed).toBe(true);
  });
});

describe('line info', () => {
  it('maps a slot to the record at or before it, reading the file name from the BTF strings', () => {
    const strings = new TextEncoder().encode('\0a.ts\0');
    const blob = new Uint8Array(24 + strings.length);
    const view = new DataView(blob.buffer);
    view.setUint16(0, 0xeb9f, true);
    view.setUint32(4, 24, true);
    view.setUint32(16, 0, true);
    view.setUint32(20, strings.length, true);
    blob.set(strings, 24);
    const data = new Uint8Array(32);
    const records = new DataView(data.buffer);
    records.setUint32(0, 0, true);
    records.setUint32(4, 1, true);
    records.setUint32(12, (1 << 10) | 1, true);
    records.setUint32(16, 4, true);
    records.setUint32(20, 1, true);
    records.setUint32(28, (9 << 10) | 3, true);
    const lineInfo = { recordSize: 16, count: 2, data };
    expect(sourceFromLineInfo(blob, lineInfo, 3)).toEqual({ file: 'a.ts', line: 1, column: 1 });
    expect(sourceFromLineInfo(blob, lineInfo, 7)).toEqual({ file: 'a.ts', line: 9, column: 3 });
    expect(sourceFromLineInfo(new Uint8Array(10), lineInfo, 7)).toBeUndefined();
  });
});
