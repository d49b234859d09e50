import { describe, expect, it } from 'vitest';
import { LowLevelError, SyrupError, isRefusal } from '@syrup/core';
import { EbpfBackend } from '../src/ebpf-backend.js';
import { EbpfBackendError } from '../src/ebpf-backend-error.js';
import { AsmError } from '../src/asm/asm-error.js';
import { BtfError } from '../src/btf/btf-error.js';
import { CodegenError } from '../src/codegen/codegen-error.js';
import { BpfAttrError } from '../src/errors/bpf-attr-error.js';
import { FdError } from '../src/errors/fd-error.js';
import { KernelMapError } from '../src/errors/kernel-map-error.js';
import { PinError } from '../src/errors/pin-error.js';
import { SyscallError } from '../src/errors/syscall-error.js';
import { LinkError } from '../src/links/link-error.js';
import { SystemMapError } from '../src/maps/system/system-map-error.js';
import { ProgramError } from '../src/programs/program-error.js';
import { VerifierError } from '../src/programs/verifier-error.js';
import { XskError } from '../src/xsk/xsk-error.js';

describe("the eBPF backend's errors share core's SyrupError", () => {
  it('every family is a SyrupError with its own name and an unchanged code', () => {
    const cause = new Error('underlying');
    const families = [
      [new AsmError('ASM_JUMP_RANGE', 'm.', { cause }), 'AsmError', 'ASM_JUMP_RANGE'],
      [new BtfError('BTF_INVALID_NAME', 'm.', { cause }), 'BtfError', 'BTF_INVALID_NAME'],
      [new FdError('FD_CLOSED', 'm.', { cause }), 'FdError', 'FD_CLOSED'],
      [new KernelMapError('KERNEL_MAP_CLOSED', 'm.', { cause }), 'KernelMapError', 'KERNEL_MAP_CLOSED'],
      [new LinkError('LINK_CLOSED', 'm.', { cause }), 'LinkError', 'LINK_CLOSED'],
      [new SystemMapError('SYSTEM_MAP_CLOSED', 'm.', { cause }), 'SystemMapError', 'SYSTEM_MAP_CLOSED'],
      [new ProgramError('PROGRAM_CLOSED', 'm.', { cause }), 'ProgramError', 'PROGRAM_CLOSED'],
      [new XskError('XSK_CLOSED', 'm.', { cause }), 'XskError', 'XSK_CLOSED'],
    ] as const;
    for (const [error, name, code] of families) {
      // Low-level: a deployment that meets one reports it inside its own DEPLOY_FAILED sentence, as before they were SyrupErrors.
      expect(error).toBeInstanceOf(LowLevelError);
      expect(isRefusal(error)).toBe(false);
      expect(error).toMatchObject({ name, code, message: 'm.', cause });
    }
    const refusal = new EbpfBackendError('EBPF_UNKNOWN_HOOK', 'm.', { cause });
    expect(isRefusal(refusal)).toBe(true);
    expect(refusal).toMatchObject({ name: 'EbpfBackendError', code: 'EBPF_UNKNOWN_HOOK', message: 'm.', cause });
  });

  it('families with data of their own keep it, and their fixed codes', () => {
    const cause = new Error('underlying');
    const syscall = new SyscallError('BPF_OBJ_GET', 2, { subject: '/sys/fs/bpf/x', cause });
    expect(syscall).toBeInstanceOf(SyrupError);
    expect(isRefusal(syscall)).toBe(false);
    expect(syscall).toMatchObject({ name: 'SyscallError', code: 'ENOENT', errno: 2, operation: 'BPF_OBJ_GET', subject: '/sys/fs/bpf/x', cause });
    expect(syscall.message).toBe('BPF_OBJ_GET on /sys/fs/bpf/x failed with ENOENT (errno 2): nothing is pinned at that path.');

    const pin = new PinError('PIN_NOT_FOUND', '/sys/fs/bpf/x', 'm.', { cause: syscall });
    expect(pin).toMatchObject({ name: 'PinError', code: 'PIN_NOT_FOUND', path: '/sys/fs/bpf/x', cause: syscall });

    const attr = new BpfAttrError('map_name', 'm.');
    expect(attr).toBeInstanceOf(SyrupError);
    expect(attr).toMatchObject({ name: 'BpfAttrError', code: 'BPF_ATTR_INVALID', field: 'map_name' });

    const location = { file: 'p.ts', line: 3, column: 5 };
    expect(new CodegenError('CODEGEN_STACK_OVERFLOW', 'm.', { cause, location })).toMatchObject({ name: 'CodegenError', code: 'CODEGEN_STACK_OVERFLOW', location, cause });

    const verifier = new VerifierError({
      programName: 'p',
      errno: 13,
      log: ['0: R0 !read_ok'],
      summary: 'R0 !read_ok',
      failingInstruction: 0,
      instruction: undefined,
      source: undefined,
      truncated: false,
      cause: syscall,
    });
    expect(verifier).toBeInstanceOf(LowLevelError);
    expect(verifier).toMatchObject({ name: 'VerifierError', code: 'VERIFIER_REJECTED', errno: 13, errnoName: 'EACCES', log: ['0: R0 !read_ok'], cause: syscall });
    expect(verifier.message).toBe("program 'p' was rejected by the verifier at instruction 0: R0 !read_ok.");
  });

  it('the backend refuses a foreign artifact with its own error class, code unchanged', () => {
    const backend = new EbpfBackend([]);
    const foreign = { backend: 'elsewhere' } as unknown as Parameters<EbpfBackend['describe']>[0];
    expect(() => backend.describe(foreign)).toThrow(EbpfBackendError);
    expect(() => backend.describe(foreign)).toThrow(expect.objectContaining({ code: 'EBPF_FOREIGN_ARTIFACT' }));
  });
});
