import type { DataMapSpec } from '@syrup/maps';
import type { InputKind, IrInsn, PolicyIr } from '@syrup/core';

/** A hand-written policy IR; `registerCount` is derived from the highest register used. */
export function policyIr(options: {
  readonly name?: string;
  readonly input: InputKind;
  readonly maps?: Record<string, DataMapSpec>;
  readonly insns: readonly IrInsn[];
  readonly registerCount?: number;
}): PolicyIr {
  let highest = -1;
  for (const insn of options.insns) {
    for (const value of Object.values(insn)) if (typeof value === 'number' && value > highest) highest = value;
  }
  return {
    version: 1,
    manifest: { name: options.name ?? 'test-policy', input: options.input, maps: options.maps ?? {}, params: {} },
    fileName: 'policy.ts',
    registerCount: options.registerCount ?? highest + 1,
    insns: options.insns,
  };
}

export const array = (maxEntries = 4): DataMapSpec => ({ kind: 'array', key: 'u32', value: 'u64', maxEntries });
export const hash = (maxEntries = 4): DataMapSpec => ({ kind: 'hash', key: 'u32', value: 'u64', maxEntries });
export const percpuArray = (maxEntries = 4): DataMapSpec => ({ kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries });
export const lruHash = (maxEntries = 4): DataMapSpec => ({ kind: 'lru-hash', key: 'u32', value: 'u64', maxEntries });

/** The SITA policy of the design document, as the front end would lower it. */
export function sitaIr(): PolicyIr {
  return policyIr({
    name: 'sita',
    input: 'udp',
    maps: { next: array(1) },
    insns: [
      { op: 'input', dst: 0, field: 'payloadLength', pos: { line: 10, column: 9 } },
      { op: 'jump-if', kind: 'lt', a: 0, b: 4n, target: 'pass', pos: { line: 10, column: 5 } },
      { op: 'load', dst: 1, region: 'payload', offset: 0n, size: 4, byteOrder: 'be', pos: { line: 11, column: 9 } },
      { op: 'jump-if', kind: 'ne', a: 1, b: 1n, target: 'get', pos: { line: 11, column: 5 } },
      { op: 'return', verdict: 'executor', value: 0n, pos: { line: 11, column: 39 } },
      { op: 'label', label: 'get' },
      { op: 'map-fetch-add', dst: 2, map: 'next', key: 0n, delta: 1n, pos: { line: 12, column: 16 } },
      { op: 'binary', kind: 'mod', dst: 3, a: 2, b: 5n, pos: { line: 12, column: 16 } },
      { op: 'binary', kind: 'add', dst: 4, a: 1n, b: 3, pos: { line: 12, column: 10 } },
      { op: 'return', verdict: 'executor', value: 4, pos: { line: 12, column: 3 } },
      { op: 'label', label: 'pass' },
      { op: 'return', verdict: 'pass', pos: { line: 10, column: 32 } },
    ],
  });
}
