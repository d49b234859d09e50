// Core's PolicyEvaluator runs over any DataMapStore: the same policy over kernel maps and over
// in-memory maps makes the same decisions and leaves the same contents, and what a userspace
// evaluation writes to a kernel map another handle (a program's, another process's) reads.
import { compilePolicy, PolicyEvaluator } from '@syrup/core';
import { InMemoryDataMapProvider, MapError, type DataMapProvider, type DataMapStore } from '@syrup/maps';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, expect, it } from 'vitest';
import { KernelDataMapProvider } from '../../src/maps/kernel-data-map-provider.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';

/** Counts in an array (atomic fetchAdd), remembers flows in a hash (get/set/delete), and keeps a per-CPU tally. */
const POLICY = {
  fileName: 'evaluate-over.ts',
  text: [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'evaluate-over',",
    "  input: 'udp',",
    '  maps: {',
    "    counts: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 },",
    "    flows: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 8 },",
    "    tally: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 2 },",
    '  },',
    '  schedule(pkt, { counts, flows, tally }) {',
    '    const n = counts.fetchAdd(pkt.srcPort % 4, 1);',
    '    const seen = flows.get(pkt.srcPort);',
    '    flows.set(pkt.srcPort, seen + pkt.len);',
    '    if (seen > 100) flows.delete(pkt.srcPort);',
    '    tally.set(0, tally.get(0) + 1);',
    '    counts.compareExchange(3, 0, 7);',
    '    return n % 2;',
    '  },',
    '});',
    '',
  ].join('\n'),
};

const INPUTS = Array.from({ length: 40 }, (_, i) => ({ srcPort: 1000 + (i % 6), dstPort: 53, payload: new Uint8Array(10 + i) }));

describeKernel("core's PolicyEvaluator over kernel data maps", { needs: ['bpf'] }, () => {
  const opened: DataMapStore[] = [];
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
  });

  function storesFrom(provider: DataMapProvider, maps: Readonly<Record<string, Parameters<DataMapProvider['createMap']>[0]>>): Map<string, DataMapStore> {
    const stores = new Map<string, DataMapStore>();
    for (const [name, spec] of Object.entries(maps)) {
      const store = provider.createMap(spec, { name });
      opened.push(store);
      stores.set(name, store);
    }
    return stores;
  }

  function contents(store: DataMapStore): [number, readonly bigint[]][] {
    const out: [number, readonly bigint[]][] = [];
    for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) {
      const slots = store.lookup(key);
      if (slots !== undefined) out.push([key, slots]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  it('decides and writes exactly as over in-memory maps, and another handle on the kernel map reads what it wrote', () => {
    const { ir } = compilePolicy(POLICY);
    const kernel = storesFrom(new KernelDataMapProvider(), ir.manifest.maps);
    const cpus = (kernel.get('tally') as DataMapStore).slotsPerKey;
    const memory = storesFrom(new InMemoryDataMapProvider(cpus), ir.manifest.maps);
    expect(kernel.get('counts')).toBeInstanceOf(KernelDataMapStore);
    // fetchAdd on the array goes through its mmapped values: atomic against kernel programs.
    expect(kernel.get('counts')?.atomic).toBe(true);

    const overKernel = new PolicyEvaluator(ir, { maps: kernel, cpus });
    const overMemory = new PolicyEvaluator(ir, { maps: memory, cpus });
    const decisions = (evaluator: PolicyEvaluator): string[] => INPUTS.map((input) => JSON.stringify(evaluator.evaluate(input), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    expect(decisions(overKernel)).toEqual(decisions(overMemory));
    for (const name of ['counts', 'flows', 'tally']) expect(contents(kernel.get(name) as DataMapStore)).toEqual(contents(memory.get(name) as DataMapStore));
    // Not vacuous: 40 inputs counted across the array plus the 7 compareExchange stored once, CPU 0's tally is 40.
    const counted = contents(kernel.get('counts') as DataMapStore).reduce((sum, [, slots]) => sum + (slots[0] ?? 0n), 0n);
    expect(counted).toBe(40n + 7n);
    expect(kernel.get('tally')?.lookup(0)?.[0]).toBe(40n);
    expect(contents(kernel.get('flows') as DataMapStore).length).toBeGreaterThan(0);

    // A second fd on the same kernel map (what a program or another process holds) sees the evaluation's writes.
    const other = (kernel.get('counts') as KernelDataMapStore).share();
    opened.push(other);
    expect(other.identity).toBe(kernel.get('counts')?.identity);
    const before = other.lookup(1)?.[0] as bigint;
    overKernel.evaluate({ srcPort: 1001, dstPort: 53 });
    expect(other.lookup(1)?.[0]).toBe(before + 1n);
    // And the evaluation reads what that handle writes: the decision is the old count's parity.
    other.update(2, [1001n]);
    expect(overKernel.evaluate({ srcPort: 1002, dstPort: 53 })).toEqual({ kind: 'executor', key: 1n });
    other.update(2, [1000n]);
    expect(overKernel.evaluate({ srcPort: 1002, dstPort: 53 })).toEqual({ kind: 'executor', key: 0n });
  });

  it('refuses fetchAdd on a kernel hash map from userspace, which cannot be atomic against programs, rather than racing them', () => {
    const { ir } = compilePolicy({
      fileName: 'hash-add.ts',
      text: [
        "import { definePolicy } from '@syrup/core';",
        "export default definePolicy({ name: 'hash-add', input: 'udp', maps: { flows: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 8 } },",
        '  schedule(pkt, { flows }) { return flows.fetchAdd(pkt.srcPort, 1) % 2; } });',
        '',
      ].join('\n'),
    });
    const kernel = storesFrom(new KernelDataMapProvider(), ir.manifest.maps);
    const evaluator = new PolicyEvaluator(ir, { maps: kernel });
    let caught: unknown;
    try {
      evaluator.evaluate({ srcPort: 5 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MapError);
    expect(caught).toMatchObject({ code: 'MAP_NOT_ATOMIC' });
    expect(kernel.get('flows')?.lookup(5)).toBeUndefined();
  });
});
