import { readFileSync } from 'node:fs';
import { compilePolicy, flowHash, foldIpv6Address, PolicyEvaluator, type PolicyDecision, type PolicyEvaluationInput, type PolicyIr } from '@syrup/core';
import { CODEGEN_HOOKS, generateProgram, generateTestHarness, HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES } from '@syrup/backend-ebpf/codegen';
import { loadProgramSpec, type LoadedProgram } from '@syrup/backend-ebpf/loader';
import { InMemoryDataMapStore, type DataMapStore } from '@syrup/maps';
import { beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { STANDARD_POLICY_NAMES, standardPolicyPath, type StandardPolicyName } from '../src/index.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/*
 * The standard policies in the kernel: each compiles for every hook the eBPF backend builds,
 * passes the verifier there, and, run through the XDP test harness (BPF_PROG_TEST_RUN), makes
 * the decisions its documentation promises, the same as core's evaluator makes on the same
 * inputs from the same map contents.
 */

const text = (name: StandardPolicyName): string => readFileSync(standardPolicyPath(name), 'utf8');
const compile = (name: StandardPolicyName, params?: Record<string, number>): PolicyIr =>
  compilePolicy({ fileName: `${name}.ts`, text: text(name) }, params ? { params } : {}).ir;


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

interface Flow {
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly src: readonly number[];
  readonly dst: readonly number[];
  readonly srcPort: number;
  readonly dstPort: number;
}

const FLOW: Flow = { src: [10, 0, 0, 1], dst: [10, 0, 0, 2], srcPort: 40000, dstPort: 9000 };

/** An Ethernet frame with a UDP datagram over IPv4 or IPv6 (by the address length). */
function udpFrame(payload: Uint8Array, flow: Flow = FLOW): Uint8Array {
  const ipv6 = flow.src.length === 16;
  const l3 = ipv6 ? 40 : 20;
  const bytes = new Uint8Array(14 + l3 + 8 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(12, ipv6 ? 0x86dd : 0x0800);
  if (ipv6) {
    view.setUint32(14, 0x6000_0000);
    view.setUint16(18, 8 + payload.length);
    view.setUint8(20, 17);
    view.setUint8(21, 64);
    bytes.set(flow.src, 22);
    bytes.set(flow.dst, 38);
  } else {
    view.setUint8(14, 0x45);
    view.setUint16(16, 20 + 8 + payload.length);
    view.setUint8(22, 64);
    view.setUint8(23, 17);
    bytes.set(flow.src, 26);
    bytes.set(flow.dst, 30);
  }
  const udp = 14 + l3;
  view.setUint16(udp, flow.srcPort);
  view.setUint16(udp + 2, flow.dstPort);
  view.setUint16(udp + 4, 8 + payload.length);
  bytes.set(payload, udp + 8);
  return bytes;
}

/** The evaluator's view of the same datagram. */
function udpInput(payload: Uint8Array, flow: Flow = FLOW): PolicyEvaluationInput {
  const addr = (bytes: readonly number[]): number =>
    bytes.length === 16 ? foldIpv6Address(new Uint8Array(bytes)) : new DataView(new Uint8Array(bytes).buffer).getUint32(0);
  return { srcAddr: addr(flow.src), dstAddr: addr(flow.dst), srcPort: flow.srcPort, dstPort: flow.dstPort, payload };
}

const show = (d: PolicyDecision): string => (d.kind === 'executor' ? String(d.key) : d.kind.toUpperCase());

/**
 * A standard policy on both sides: its harness build loaded in the kernel and the evaluator
 * over in-memory maps. `set` writes a map entry on both; `decide` runs one datagram on both,
 * expects them to agree, and answers the decision as text ('3', 'PASS', 'DROP').
 */
class BothSides implements Disposable {
  readonly loaded: LoadedProgram;
  readonly evaluator: PolicyEvaluator;
  readonly #memory: Map<string, DataMapStore>;

  constructor(ir: PolicyIr, source: string) {
    this.#memory = new Map(Object.entries(ir.manifest.maps).map(([name, spec]) => [name, new InMemoryDataMapStore(spec, { name })]));
    this.evaluator = new PolicyEvaluator(ir, { maps: this.#memory });
    this.loaded = loadProgramSpec(generateTestHarness(ir, { sourceText: source }));
  }

  set(map: string, key: number, value: bigint): void {
    this.loaded.dataMaps.get(map)!.update(key, [value]);
    this.#memory.get(map)!.update(key, [value]);
  }

  get(map: string, key: number): { kernel: bigint | undefined; evaluator: bigint | undefined } {
    return { kernel: this.loaded.dataMaps.get(map)!.lookup(key)?.[0], evaluator: this.#memory.get(map)!.lookup(key)?.[0] };
  }

  decide(payload: Uint8Array, flow: Flow = FLOW, times = 1): string[] {
    const out: string[] = [];
    for (let i = 0; i < times; i++) {
      const kernel = this.#runKernel(udpFrame(payload, flow));
      const evaluator = this.evaluator.evaluate(udpInput(payload, flow));
      expect(show(kernel), `kernel against evaluator, decision ${i}`).toBe(show(evaluator));
      out.push(show(kernel));
    }
    return out;
  }

  #runKernel(frame: Uint8Array): PolicyDecision {
    const result = this.loaded.systemMaps.get(SYSTEM_MAP_NAMES.result)!;
    const key = (k: number): Uint8Array => new Uint8Array(new Uint32Array([k]).buffer);
    const read = (k: number): bigint => new DataView(result.lookup(key(k))!.buffer).getBigUint64(0, true);
    result.update(key(0), new Uint8Array(new BigUint64Array([99n]).buffer));
    const run = this.loaded.program.testRun(frame);
    if (run.retval !== 2) throw new Error(`the harness returned ${run.retval}, not XDP_PASS`);
    const kind = read(0);
    if (kind === BigInt(HARNESS_RESULT_KIND.executor)) return { kind: 'executor', key: read(1) };
    if (kind === BigInt(HARNESS_RESULT_KIND.pass)) return { kind: 'pass' };
    if (kind === BigInt(HARNESS_RESULT_KIND.drop)) return { kind: 'drop' };
    throw new Error(`the harness recorded no decision (kind ${kind})`);
  }

  [Symbol.dispose](): void {
    this.loaded.close();
  }
}

function both(name: StandardPolicyName, params?: Record<string, number>): BothSides {
  return new BothSides(compile(name, params), text(name));
}

const GET = request(0);
const SCAN = request(1);

describeKernel('the standard policies in the kernel', { needs: ['bpf'] }, () => {
  let fdsBefore = 0;
  beforeAll(() => {
    fdsBefore = openFdCount();
  });

  // get-priority is a thread policy: no kernel program runs it (the thread hook's agent evaluates it).
  it.each(STANDARD_POLICY_NAMES.filter((name) => name !== 'get-priority'))('%s passes the verifier at every hook and as the XDP test harness', (name) => {
    const ir = compile(name);
    const source = text(name);
    for (const hook of CODEGEN_HOOKS) {
      const spec = generateProgram(ir, { target: hook, sourceText: source, ...(hook === 'socket-select' ? {} : { port: 9000 }) });
      loadProgramSpec(spec).close();
    }
    loadProgramSpec(generateTestHarness(ir, { sourceText: source })).close();
  });

  it('round-robin turns over SOCKETS sockets', () => {
    using rr = both('round-robin');
    expect(rr.decide(GET, FLOW, 8)).toEqual(['0', '1', '2', '3', '4', '5', '0', '1']);
    using three = both('round-robin', { SOCKETS: 3 });
    expect(three.decide(GET, FLOW, 4)).toEqual(['0', '1', '2', '0']);
  });

  it('hash keeps every flow on the socket of the framework flow hash, over IPv4 and IPv6', () => {
    using hash = both('hash');
    const flows: Flow[] = [
      FLOW,
      { ...FLOW, srcPort: 40001 },
      { src: [192, 168, 1, 7], dst: [10, 9, 8, 7], srcPort: 5353, dstPort: 53 },
      { src: Array.from({ length: 16 }, (_, i) => i * 17), dst: Array.from({ length: 16 }, (_, i) => 255 - i), srcPort: 1, dstPort: 9000 },
    ];
    for (const flow of flows) {
      const input = udpInput(GET, flow);
      const expected = String(flowHash(Number(input.srcAddr), Number(input.dstAddr), flow.srcPort, flow.dstPort) % 6);
      expect(hash.decide(GET, flow, 3)).toEqual([expected, expected, expected]);
    }
  });

  it('key-hash sends every request for a key to one socket, the same as the evaluator, whatever the flow', () => {
    using keyHash = both('key-hash');
    const flows: Flow[] = [FLOW, { src: [127, 0, 0, 1], dst: [127, 0, 0, 1], srcPort: 5353, dstPort: 9000 }];
    const homes = new Set<string>();
    // Large keys exercise the 64-bit multiplies' wraparound, where the kernel and the evaluator could differ.
    for (const key of [0n, 1n, 2n, 3n, 42n, 0xdead_beefn, (1n << 63n) + 7n, (1n << 64n) - 1n, 0x0123_4567_89ab_cdefn]) {
      const [home] = keyHash.decide(request(0, 0, key));
      homes.add(home as string);
      for (const flow of flows) expect(keyHash.decide(request(key & 1n ? 1 : 2, 5, key), flow, 2)).toEqual([home, home]);
    }
    expect(homes.size).toBeGreaterThan(2);
    expect(keyHash.decide(new Uint8Array(23))).toEqual(['PASS']);
  });

  it('sita gives SCANs socket 0 and turns the other requests over sockets 1 to 5', () => {
    using sita = both('sita');
    expect(sita.decide(GET, FLOW, 6)).toEqual(['1', '2', '3', '4', '5', '1']);
    expect(sita.decide(SCAN, FLOW, 2)).toEqual(['0', '0']);
    expect(sita.decide(request(2))).toEqual(['2']);
    expect(sita.decide(new Uint8Array(3))).toEqual(['PASS']);
  });

  it('scan-avoid keeps GETs off sockets busy with a SCAN and packs SCANs onto idle sockets', () => {
    using avoid = both('scan-avoid');
    expect(avoid.decide(GET, FLOW, 7)).toEqual(['0', '1', '2', '3', '4', '5', '0']);
    avoid.set('busy', 2, 1n);
    avoid.set('busy', 3, 1n);
    expect(avoid.decide(GET, FLOW, 6)).toEqual(['1', '4', '4', '4', '5', '0']);
    avoid.set('busy', 0, 1n);
    expect(avoid.decide(SCAN, FLOW, 2)).toEqual(['1', '1']);
    for (let s = 0; s < 6; s++) avoid.set('busy', s, 1n);
    expect(avoid.decide(GET, FLOW, 3)).toEqual(['1', '2', '3']);
    expect(avoid.decide(SCAN, FLOW, 2)).toEqual(['4', '5']);
    expect(avoid.decide(new Uint8Array(2))).toEqual(['PASS']);
  });

  it('token-qos admits a request only with a token of its user and drops the rest', () => {
    using qos = both('token-qos', { LS_USER: 7 });
    qos.set('tokens', 7, 2n);
    qos.set('tokens', 9, 1n);
    expect(qos.decide(request(0, 7), FLOW, 3)).toEqual(['0', '1', 'DROP']);
    expect(qos.decide(request(0, 9), FLOW, 2)).toEqual(['2', 'DROP']);
    expect(qos.get('tokens', 7)).toEqual({ kernel: 0n, evaluator: 0n });
    expect(qos.get('tokens', 9)).toEqual({ kernel: 0n, evaluator: 0n });
    expect(qos.decide(request(0, 5000))).toEqual(['DROP']);
    expect(qos.decide(new Uint8Array(7))).toEqual(['PASS']);
  });

  it('left no kernel object behind (the process holds the fds it held before)', () => {
    expect(openFdCount()).toBe(fdsBefore);
  });
});
