import { expect, it } from 'vitest';
import { PolicyMapAccess, foldIpv6Address, interpretPolicyIr, ipv4Address } from '@syrup/core';
import { InMemoryDataMapStore, type DataMapStore } from '@syrup/maps';
import { generateTestHarness } from '../../src/codegen/generate-program.js';
import type { KernelMap } from '../../src/maps/kernel-map.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { loadSpec, readU64, runHarness, udpFrame, writeU64 } from './kernel-support.js';
import { prng, randomUdpPolicy } from './random-programs.js';

/** Kernel map contents as key -> value. */
function contents(map: KernelMap): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (let key = map.nextKey(); key !== undefined; key = map.nextKey(key)) {
    const k = new DataView(key.buffer, key.byteOffset).getUint32(0, true);
    out.set(k, readU64(map, k)!);
  }
  return out;
}

/** A store's contents as key -> value (one slot: these maps are not per-CPU). */
function storeContents(store: DataMapStore): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) out.set(key, store.lookup(key)![0]!);
  return out;
}

/*
 * IR built directly (test/codegen/random-programs.ts), not through the front end: shapes the
 * front end never produces (backward jumps, registers read before any write, which start at 0)
 * checked against core's reference interpreter, called directly because PolicyEvaluator
 * accepts only IR that passes verifyPolicyIr. test/differential/ covers policies written as
 * TypeScript against the evaluator.
 */
describeKernel('generated code against the IR semantics (BPF_PROG_TEST_RUN)', { needs: ['bpf'] }, () => {
  const SEEDS = 100;
  const FRAMES = 12;

  it(`gives the reference interpreter's decisions and map contents for ${SEEDS} random IR programs`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const ir = randomUdpPolicy(seed);
      const spec = generateTestHarness(ir);
      using loaded = loadSpec(spec);
      const stores = new Map<string, DataMapStore>(
        Object.entries(ir.manifest.maps).map(([name, mapSpec]) => [name, new InMemoryDataMapStore(mapSpec, { name })]),
      );
      // The same starting contents on both sides.
      for (const [key, value] of [
        [0, 5n],
        [1, 0xffff_ffff_ffff_fff0n],
        [2, 0n],
      ] as const) {
        writeU64(loaded.maps.get('a')!, key, value);
        stores.get('a')!.update(key, [value]);
      }
      writeU64(loaded.maps.get('h')!, 1, 9n);
      stores.get('h')!.update(1, [9n]);
      const runtime = {
        maps: new Map([...stores].map(([name, store]) => [name, new PolicyMapAccess(store)])),
        random: (): bigint => 0n,
        now: (): bigint => 0n,
      };

      const random = prng(seed * 7919);
      for (let frame = 0; frame < FRAMES; frame++) {
        const payload = new Uint8Array(Math.floor(random() * 24)).map(() => Math.floor(random() * 256));
        const ipv6 = random() < 0.3;
        const src = ipv6 ? Array.from({ length: 16 }, () => Math.floor(random() * 256)) : [10, 1, 2, Math.floor(random() * 256)];
        const dst = ipv6 ? Array.from({ length: 16 }, () => Math.floor(random() * 256)) : [192, 168, 0, 1];
        const srcPort = Math.floor(random() * 65536);
        const dstPort = Math.floor(random() * 65536);
        const kernel = runHarness(loaded, udpFrame({ payload, srcAddr: src, dstAddr: dst, srcPort, dstPort, vlan: random() < 0.2 }));
        const addr = (bytes: number[]): number => (ipv6 ? foldIpv6Address(new Uint8Array(bytes)) : ipv4Address(bytes.join('.')));
        const expected = interpretPolicyIr(ir, { payload, srcAddr: addr(src), dstAddr: addr(dst), srcPort, dstPort }, runtime, 0);
        expect(kernel, `seed ${seed} frame ${frame}`).toEqual(expected);
        for (const name of ['a', 'h']) {
          expect(contents(loaded.maps.get(name)!), `seed ${seed} frame ${frame} map ${name}`).toEqual(storeContents(stores.get(name)!));
        }
      }
    }
  });
});
