import { readFileSync } from 'node:fs';
import { compilePolicy } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { generateTestHarness } from '../../src/codegen/index.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { loadProgramSpec, type LoadedProgram } from '../../src/loader/loaded-program.js';
import { runHarness, udpFrame } from '../codegen/kernel-support.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { openFdCount } from '@syrup/test-support/open-fds';

const sitaSource = {
  fileName: 'sita.ts',
  text: readFileSync(new URL('../../../policies-std/src/sita.ts', import.meta.url), 'utf8'),
};

function request(type: number): Uint8Array {
  const payload = new Uint8Array(24);
  new DataView(payload.buffer).setUint32(0, type);
  return udpFrame({ payload });
}

/** Runs the harness build of a loaded program on one frame and reads its recorded decision. */
function decide(loaded: LoadedProgram, frame: Uint8Array): ReturnType<typeof runHarness> {
  return runHarness({ program: loaded.program, maps: loaded.systemMaps, close: () => {}, [Symbol.dispose]: () => {} }, frame);
}

describeKernel('loadProgramSpec', { needs: ['bpf'] }, () => {
  it('loads a policy compiled from TypeScript with its maps and gives the decisions the policy makes', () => {
    const { ir } = compilePolicy(sitaSource);
    using loaded = loadProgramSpec(generateTestHarness(ir, { sourceText: sitaSource.text }));
    expect(decide(loaded, request(1))).toEqual({ kind: 'executor', key: 0n });
    const sockets = BigInt(ir.manifest.params['SOCKETS'] ?? 0);
    const seen = [decide(loaded, request(0)), decide(loaded, request(0)), decide(loaded, request(0))];
    expect(seen.every((d) => d.kind === 'executor' && d.key >= 1n && d.key < sockets)).toBe(true);
    expect(new Set(seen.map((d) => (d.kind === 'executor' ? d.key : -1n))).size).toBe(3);
    const counter = [...loaded.dataMaps.values()][0];
    expect(counter?.atomic).toBe(true);
  });

  it('reuses a borrowed data map and leaves it open when the program closes', () => {
    const { ir } = compilePolicy(sitaSource);
    const [name, spec] = Object.entries(ir.manifest.maps)[0] ?? [];
    if (name === undefined || spec === undefined) throw new Error('sita declares a map');
    using shared = KernelDataMapStore.create(spec, { name, mmapable: spec.kind === 'array' });
    shared.update(0, [41n]);
    {
      using loaded = loadProgramSpec(generateTestHarness(ir), { dataMaps: new Map([[name, shared]]) });
      expect(loaded.dataMaps.get(name)).toBe(shared);
      decide(loaded, request(0));
    }
    expect(shared.lookup(0)).toEqual([42n]);
  });

  it('refuses a borrowed map of another shape and closes everything it created', () => {
    const { ir } = compilePolicy(sitaSource);
    const [name] = Object.keys(ir.manifest.maps);
    if (name === undefined) throw new Error('sita declares a map');
    using wrong = KernelDataMapStore.create({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 3 }, { name: 'wrong' });
    const before = openFdCount();
    for (let i = 0; i < 50; i++) {
      expect(() => loadProgramSpec(generateTestHarness(ir), { dataMaps: new Map([[name, wrong]]) })).toThrow(/is declared as array/);
    }
    expect(openFdCount()).toBe(before);
  });
});
