/**
 * Kernel-layer benchmark: map element access through bpf() and through mmapped memory, and
 * the in-kernel cost of an empty XDP decision, with a C program making the same syscalls as
 * the reference; then the standard policies as XDP programs (bench/policy-bench.ts): the code
 * generator's build of each against the same policy in C built by clang -O2 (bench/c/), by
 * instruction count and by in-kernel time per decision. The machine is shared and noisy, so
 * TypeScript and C measurements are interleaved over several rounds and medians reported. The
 * last line of output is one JSON object; lines before it are progress for humans.
 *
 * Run: npm run bench (in packages/backend-ebpf), as root. clang is optional: without it the
 * policy figures of the C side are null with the reason in `policiesCUnavailable`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exit, Mov, R0 } from '../src/asm/index.js';
import { KernelDataMapStore } from '../src/maps/kernel-data-map-store.js';
import { Program } from '../src/programs/program.js';
import { ProgType } from '../src/syscalls/bpf-constants.js';
import type { Fd } from '../src/fd.js';
import { nativeSyscalls } from '../src/syscalls/native-syscalls.js';
import type { SyscallBuffer } from '../src/syscalls/syscall-buffer.js';
import type { Syscalls } from '../src/syscalls/syscalls.js';
import { PORT, PolicyBench, timeRun } from './policy-bench.js';
import { measureSocketSelect } from './socket-select-bench.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 9);
const OPS = Number(process.env['BENCH_OPS'] ?? 200_000);
const XDP_REPEAT = 1_000_000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/*
 * One explicit loop per measurement rather than a shared helper taking a callback: a shared
 * loop calling many different callbacks becomes megamorphic and would add its own
 * nanoseconds to every figure. Each loop warms up with a tenth of its iterations first. The
 * value read is kept in a plain variable, as the C loop does nothing with it either.
 */
let keptValue: bigint | undefined;

function elapsedNs(start: bigint, ops: number): number {
  return Number(process.hrtime.bigint() - start) / ops;
}

function timeStoreLookup(store: KernelDataMapStore, ops: number): number {
  for (let i = 0; i < ops / 10; i++) keptValue = store.lookup(i & 63)?.[0];
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) keptValue = store.lookup(i & 63)?.[0];
  return elapsedNs(start, ops);
}

function timeStoreUpdate(store: KernelDataMapStore, ops: number): number {
  const value = [42n];
  for (let i = 0; i < ops / 10; i++) store.update(i & 63, value);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) store.update(i & 63, value);
  return elapsedNs(start, ops);
}

function timeRawLookup(sys: Syscalls, map: Fd, key: SyscallBuffer, value: SyscallBuffer, ops: number): number {
  for (let i = 0; i < ops / 10; i++) sys.mapLookupElem(map, key, value);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) sys.mapLookupElem(map, key, value);
  return elapsedNs(start, ops);
}

function timeViewLoad(values: BigUint64Array, ops: number): number {
  for (let i = 0; i < ops / 10; i++) keptValue = Atomics.load(values, i & 63);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) keptValue = Atomics.load(values, i & 63);
  return elapsedNs(start, ops);
}

function timeViewStore(values: BigUint64Array, ops: number): number {
  for (let i = 0; i < ops / 10; i++) Atomics.store(values, i & 63, 42n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) Atomics.store(values, i & 63, 42n);
  return elapsedNs(start, ops);
}

interface CReference {
  readonly run: () => { lookupNs: number; updateNs: number };
  readonly cleanup: () => void;
}

function buildCReference(): CReference | { unavailable: string } {
  const dir = mkdtempSync(join(tmpdir(), 'syrup-bench-'));
  const source = fileURLToPath(new URL('./map-syscall.c', import.meta.url));
  const binary = join(dir, 'map-syscall');
  for (const compiler of [process.env['CC'], 'cc', 'gcc', 'clang'].filter((c): c is string => c !== undefined && c !== '')) {
    try {
      execFileSync(compiler, ['-O2', '-o', binary, source], { stdio: ['ignore', 'ignore', 'pipe'] });
      return {
        run: () => JSON.parse(execFileSync(binary, [String(OPS)], { encoding: 'utf8' })) as { lookupNs: number; updateNs: number },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    } catch {
      // Try the next compiler.
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { unavailable: 'no C compiler (cc, gcc, clang or $CC) could build bench/map-syscall.c' };
}

async function main(): Promise<void> {
  const sys = nativeSyscalls();
  const spec = { kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 } as const;
  using viaSyscall = KernelDataMapStore.create(spec, { name: 'bench_sys' });
  using viaMemory = KernelDataMapStore.create(spec, { name: 'bench_mmap', mmapable: true });
  const values = viaMemory.values;
  const rawMap = viaSyscall.kernelMap;
  const rawKey = sys.allocBuffer(4);
  const rawValue = sys.allocBuffer(8);
  rawKey.view.setUint32(0, 7, true);
  using empty = Program.load({ name: 'bench_empty', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, 2), exit()] });
  const emptyRunner = empty.testRunner();
  const packet = new Uint8Array(64);
  const c = buildCReference();
  using policies = new PolicyBench(XDP_REPEAT);

  const samples: Record<string, number[]> = {
    mapGetSyscallNs: [],
    mapSetSyscallNs: [],
    rawLookupSyscallNs: [],
    mapGetMmapNs: [],
    mapSetMmapNs: [],
    mapGetMmapStoreNs: [],
    mapSetMmapStoreNs: [],
    emptyXdpDecisionNs: [],
    cMapGetSyscallNs: [],
    cMapSetSyscallNs: [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that neither side always runs first in a round.
    const cFirst = round % 2 === 1;
    const runC = (): void => {
      if ('run' in c) {
        const result = c.run();
        samples['cMapGetSyscallNs']?.push(result.lookupNs);
        samples['cMapSetSyscallNs']?.push(result.updateNs);
      }
    };
    if (cFirst) runC();
    samples['mapGetSyscallNs']?.push(timeStoreLookup(viaSyscall, OPS));
    samples['mapSetSyscallNs']?.push(timeStoreUpdate(viaSyscall, OPS));
    samples['rawLookupSyscallNs']?.push(timeRawLookup(sys, rawMap.fd, rawKey, rawValue, OPS));
    if (!cFirst) runC();
    samples['mapGetMmapStoreNs']?.push(timeStoreLookup(viaMemory, OPS * 10));
    samples['mapSetMmapStoreNs']?.push(timeStoreUpdate(viaMemory, OPS * 10));
    samples['mapGetMmapNs']?.push(timeViewLoad(values, OPS * 10));
    samples['mapSetMmapNs']?.push(timeViewStore(values, OPS * 10));
    samples['emptyXdpDecisionNs']?.push(timeRun(emptyRunner, packet, XDP_REPEAT));
    policies.round(() => timeRun(emptyRunner, packet, XDP_REPEAT));
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  if ('cleanup' in c) c.cleanup();

  const medians = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, list.length === 0 ? null : round1(median(list))]));
  const spread = Object.fromEntries(
    Object.entries(samples)
      .filter(([, list]) => list.length > 0)
      .map(([name, list]) => [name, [round1(Math.min(...list)), round1(Math.max(...list))]]),
  );
  // Ratios are taken per round, between measurements seconds apart, then the median: a slow
  // phase of the shared machine then inflates both sides of one ratio instead of one side of all.
  const pairedRatio = (ts: string, c: string): number | null => {
    const a = samples[ts] ?? [];
    const b = samples[c] ?? [];
    if (b.length === 0) return null;
    return Math.round(median(a.map((value, i) => value / (b[i] as number))) * 100) / 100;
  };
  const policyResult = policies.result();
  const result = {
    ...medians,
    policies: policyResult.policies,
    policiesC: policyResult.policiesC,
    policiesRatio: policyResult.policiesRatio,
    policiesCReference: policyResult.policiesCReference,
    ...(policyResult.policiesCUnavailable === undefined ? {} : { policiesCUnavailable: policyResult.policiesCUnavailable }),
    getRatioVsC: pairedRatio('mapGetSyscallNs', 'cMapGetSyscallNs'),
    setRatioVsC: pairedRatio('mapSetSyscallNs', 'cMapSetSyscallNs'),
    rawLookupRatioVsC: pairedRatio('rawLookupSyscallNs', 'cMapGetSyscallNs'),
    cReference: 'run' in c ? 'bench/map-syscall.c built with cc -O2' : null,
    ...('unavailable' in c ? { cReferenceUnavailable: c.unavailable } : {}),
    measures: {
      mapGetSyscallNs: 'KernelDataMapStore.lookup(key) on an array through bpf(BPF_MAP_LOOKUP_ELEM), keys 0..63',
      mapSetSyscallNs: 'KernelDataMapStore.update(key, [v]) through bpf(BPF_MAP_UPDATE_ELEM)',
      rawLookupSyscallNs: 'Syscalls.mapLookupElem with preallocated buffers, no store on top',
      mapGetMmapNs: 'the mmapped zero-copy view of an mmapable array: Atomics.load on store.values',
      mapSetMmapNs: 'the mmapped zero-copy view of an mmapable array: Atomics.store on store.values',
      mapGetMmapStoreNs: 'KernelDataMapStore.lookup(key) on an mmapable array (Atomics.load through the DataMapStore contract, which returns a fresh [value])',
      mapSetMmapStoreNs: 'KernelDataMapStore.update(key, [v]) on an mmapable array (Atomics.store through the DataMapStore contract)',
      emptyXdpDecisionNs: `in-kernel ns per run of an XDP program returning XDP_PASS (BPF_PROG_TEST_RUN, repeat ${XDP_REPEAT})`,
      policies: `per standard policy, the code generator's xdp-skb build (port ${PORT}): insns = instruction slots loaded (ld_imm64 counts 2), xlatedInsns = the kernel's xlated_prog_len / 8 after its rewrites (array lookups inlined), nsPerDecision = BPF_PROG_TEST_RUN ns per run (repeat ${XDP_REPEAT}) on one frame (Ethernet, IPv4 without options, UDP to the policy port, payload type 0 GET, user 7; scan-avoid's busy map all idle, token-qos's bucket full) minus the empty XDP program's ns in the same round`,
      policiesC: 'the same policies written in C (bench/c/, same prologue semantics), built by clang -O2 -target bpf -mcpu=v3, loaded with maps created by the benchmark; the same measures',
      policiesRatio: 'TypeScript / C: insns on loaded slots; time as the median over rounds of the per-round ratio; nsMoreThanC the median per-round difference',
      ratios: 'median over rounds of TypeScript / C measured in the same round',
    },
    rounds: ROUNDS,
    opsPerSample: OPS,
    xdpRepeat: XDP_REPEAT,
    spread: { ...spread, policies: policyResult.policiesSpread },
    lastValue: String(keptValue),
  };
  // Real traffic through the socket-select hook, and deploy latency: see socket-select-bench.ts.
  process.stderr.write('socket-select throughput and deploy time...\n');
  const { socketSelect, deployMs, ...socketSelectDetails } = await measureSocketSelect();
  process.stdout.write(`${JSON.stringify({ ...result, socketSelect, deployMs, socketSelectDetails })}\n`);
}

await main();
