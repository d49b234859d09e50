import { readFileSync } from 'node:fs';
import { InMemoryDataMapStore } from '@syrup/maps';
import { ThreadEvent, flowHash } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { STANDARD_POLICY_NAMES, standardPolicyPath, type StandardPolicyName } from '../src/index.js';
import { compilePolicy, PolicyEvaluator, verifyPolicyIr, type PolicyDecision } from './support/syrup.js';

const text = (name: StandardPolicyName): string => readFileSync(standardPolicyPath(name), 'utf8');
const compile = (name: StandardPolicyName, params?: Record<string, number>) => {
  const { ir } = compilePolicy({ fileName: `${name}.ts`, text: text(name) }, params ? { params } : {});
  verifyPolicyIr(ir);
  return ir;
};
const evaluator = (name: StandardPolicyName, params?: Record<string, number>) => new PolicyEvaluator(compile(name, params));
const show = (d: PolicyDecision): string => (d.kind === 'executor' ? String(d.key) : d.kind.toUpperCase());

/** A request in the wire format (big-endian): type, user id, request id, key. */
function request(type: number, user = 0, key = 42n): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type);
  view.setUint32(4, user);
  view.setBigUint64(8, 1n);
  view.setBigUint64(16, key);
  return bytes;
}

/** MurmurHash3's fmix64 over exact bigints: the reference key-hash must agree with. */
function fmix64(key: bigint): bigint {
  const M = (1n << 64n) - 1n;
  let k = key & M;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M;
  k ^= k >> 33n;
  return k;
}
const GET = { payload: request(0) };
const SCAN = { payload: request(1) };
const decide = (e: PolicyEvaluator, input: object, times = 1): string[] =>
  Array.from({ length: times }, () => show(e.evaluate(input)));

describe('the standard policy pack', () => {
  it('lists every policy, ships each as src/<name>.ts and exports it by name', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, unknown>;
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', ...STANDARD_POLICY_NAMES.map((n) => `./${n}`)].sort());
    for (const name of STANDARD_POLICY_NAMES) {
      expect(pkg.exports[`./${name}`]).toBe(`./src/${name}.ts`);
      expect(standardPolicyPath(name).endsWith(`/src/${name}.ts`)).toBe(true);
    }
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@syrup/core', '@syrup/maps']);
    expect(() => standardPolicyPath('nope' as StandardPolicyName)).toThrow(RangeError);
  });

  it.each(STANDARD_POLICY_NAMES)('%s compiles, and its manifest is named after its file', (name) => {
    const ir = compile(name);
    expect(ir.manifest.name).toBe(name);
    expect(ir.manifest.input).toBe(name === 'get-priority' ? 'thread' : 'udp');
  });

  it('round-robin turns over the sockets, SOCKETS of them', () => {
    expect(decide(evaluator('round-robin'), GET, 8)).toEqual(['0', '1', '2', '3', '4', '5', '0', '1']);
    expect(decide(evaluator('round-robin', { SOCKETS: 3 }), GET, 4)).toEqual(['0', '1', '2', '0']);
  });

  it('hash keeps a flow on one socket, from the framework flow hash', () => {
    const e = evaluator('hash');
    const flow = { srcAddr: 0x0a000001, dstAddr: 0x0a000002, srcPort: 40000, dstPort: 9000, payload: request(0) };
    const expected = String(flowHash(0x0a000001, 0x0a000002, 40000, 9000) % 6);
    expect(decide(e, flow, 3)).toEqual([expected, expected, expected]);
    expect(show(e.evaluate({ ...flow, hash: 17 }))).toBe('5');
  });

  it('key-hash sends every request for a key to the key\'s home socket, fmix64(key) % SOCKETS, whatever the flow', () => {
    const e = evaluator('key-hash');
    const flows = [
      { srcAddr: 0x7f000001, dstAddr: 0x7f000001, srcPort: 40000, dstPort: 9000 },
      { srcAddr: 0x0a000005, dstAddr: 0x7f000001, srcPort: 5353, dstPort: 9000 },
    ];
    const keys = [0n, 1n, 2n, 42n, 0xdead_beefn, (1n << 63n) + 7n, (1n << 64n) - 1n];
    for (const key of keys) {
      const home = String(fmix64(key) % 6n);
      // Every request type and every flow: the key alone decides.
      for (const [type, flow] of [[0, flows[0]], [1, flows[1]], [2, flows[0]]] as const) {
        expect(decide(e, { ...flow, payload: request(type, 3, key) }, 2), `key ${key}`).toEqual([home, home]);
      }
    }
    expect(decide(evaluator('key-hash', { SOCKETS: 4 }), { payload: request(0, 0, 0xdead_beefn) })).toEqual([String(fmix64(0xdead_beefn) % 4n)]);
    expect(decide(e, { payload: new Uint8Array(23) })).toEqual(['PASS']);
  });

  it('key-hash spreads sequential and strided keys evenly, a stride of SOCKETS included', () => {
    const e = evaluator('key-hash');
    for (const stride of [1n, 6n, 1024n]) {
      const counts = [0, 0, 0, 0, 0, 0];
      for (let i = 0n; i < 6000n; i++) counts[Number(show(e.evaluate({ payload: request(0, 0, i * stride) })))]! += 1;
      // 1000 expected per socket; a binomial spread stays within +-15% by far (sd ~29).
      for (const n of counts) expect(n, `stride ${stride}: ${counts.join(' ')}`).toBeGreaterThan(850);
      for (const n of counts) expect(n, `stride ${stride}: ${counts.join(' ')}`).toBeLessThan(1150);
    }
  });

  it('sita gives SCANs socket 0 and turns the other requests over sockets 1 to 5', () => {
    const e = evaluator('sita');
    expect(decide(e, GET, 6)).toEqual(['1', '2', '3', '4', '5', '1']);
    expect(decide(e, SCAN, 2)).toEqual(['0', '0']);
    expect(decide(e, { payload: request(2) })).toEqual(['2']);
    expect(decide(e, { payload: new Uint8Array(3) })).toEqual(['PASS']);
  });

  it('scan-avoid keeps GETs off sockets busy with a SCAN and packs SCANs onto idle sockets', () => {
    const busy = new InMemoryDataMapStore({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 }, { name: 'busy' });
    const e = new PolicyEvaluator(compile('scan-avoid'), { maps: { busy } });
    expect(decide(e, GET, 7)).toEqual(['0', '1', '2', '3', '4', '5', '0']);
    busy.update(2, [1n]);
    busy.update(3, [1n]);
    // The round-robin start goes on 1, 2, 3, 4, 5, 0; a busy start moves to the next idle socket, so 2 and 3 become 4.
    expect(decide(e, GET, 6)).toEqual(['1', '4', '4', '4', '5', '0']);
    busy.update(0, [1n]);
    expect(decide(e, SCAN, 2)).toEqual(['1', '1']);
    // Every socket busy: both fall back to plain round robin.
    for (let s = 0; s < 6; s++) busy.update(s, [1n]);
    expect(decide(e, GET, 3)).toEqual(['1', '2', '3']);
    expect(decide(e, SCAN, 2)).toEqual(['4', '5']);
    expect(decide(e, { payload: new Uint8Array(2) })).toEqual(['PASS']);
  });

  it('token-qos admits a request only with a token of its user, and drops the rest', () => {
    const tokens = new InMemoryDataMapStore({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1024 }, { name: 'tokens' });
    const e = new PolicyEvaluator(compile('token-qos', { LS_USER: 7 }), { maps: { tokens } });
    tokens.update(7, [2n]);
    tokens.update(9, [1n]);
    const ls = { payload: request(0, 7) };
    const be = { payload: request(0, 9) };
    expect(decide(e, ls, 3)).toEqual(['0', '1', 'DROP']);
    expect(decide(e, be, 2)).toEqual(['2', 'DROP']);
    expect(tokens.lookup(7)).toEqual([0n]);
    expect(tokens.lookup(9)).toEqual([0n]);
    expect(decide(e, { payload: request(0, 5000) })).toEqual(['DROP']);
    expect(decide(e, { payload: new Uint8Array(7) })).toEqual(['PASS']);
  });

  it('get-priority defers a worker whose socket serves a SCAN, runs other workers on the first CPU, and leaves other threads to the kernel', () => {
    const e = evaluator('get-priority');
    const busy = e.maps.get('busy') as InMemoryDataMapStore;
    const workerOf = e.maps.get('workerOf') as InMemoryDataMapStore;
    workerOf.update(100, [1n]); // serves socket 0
    workerOf.update(101, [4n]); // serves socket 3
    busy.update(3, [1n]);
    const thread = (tid: number, event: number) => ({ tid, pid: 1, event, lastCpu: 0, runtimeNs: 0 });
    expect(show(e.evaluate(thread(100, ThreadEvent.WAKEUP)))).toBe('0');
    expect(show(e.evaluate(thread(101, ThreadEvent.WAKEUP)))).toBe('DROP');
    expect(show(e.evaluate(thread(101, ThreadEvent.PREEMPTED)))).toBe('DROP');
    expect(show(e.evaluate(thread(999, ThreadEvent.WAKEUP)))).toBe('PASS');
    expect(show(e.evaluate(thread(100, ThreadEvent.BLOCKED)))).toBe('PASS');
    busy.update(0, [1n]); // socket 0 picks up a SCAN: its worker is deferred at its next event
    expect(show(e.evaluate(thread(100, ThreadEvent.YIELD)))).toBe('DROP');
  });
});
