/**
 * The standard policies as XDP programs: the code generator's xdp-skb build of each (from
 * packages/policies-std, read as text) next to the same policy written in C (bench/c/) and
 * built by clang -O2, when clang is installed. Both are loaded here, checked to make the same
 * decisions, and timed with BPF_PROG_TEST_RUN on one fixed frame. See kernel.bench.ts for how
 * the rounds interleave and what is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy, type PolicyIr } from '@syrup/core';
import { HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES } from '../src/codegen/epilogues.js';
import { generateProgram, generateTestHarness } from '../src/codegen/generate-program.js';
import { isSyscallError } from '../src/errors/syscall-error.js';
import { loadProgramSpec, type LoadedProgram } from '../src/loader/loaded-program.js';
import { KernelDataMapStore } from '../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../src/maps/kernel-map.js';
import { Program } from '../src/programs/program.js';
import { ProgramError } from '../src/programs/program-error.js';
import type { TestRunner } from '../src/programs/test-runner.js';
import { MapType, ProgType } from '../src/syscalls/bpf-constants.js';
import { BpfObject } from './elf-object.js';

export const BENCH_POLICIES = ['round-robin', 'hash', 'sita', 'scan-avoid', 'token-qos'] as const;
export type BenchPolicy = (typeof BENCH_POLICIES)[number];

export const PORT = 9000;
/** The best-effort user of the fixed frame; its bucket is kept full. */
const USER = 7;
const FULL_BUCKET = 1n << 62n;
const C_SECTION = 'xdp';

/** Ethernet, IPv4 without options, UDP 10.0.0.1:40000 -> 10.0.0.2:PORT, a 24-byte request: type, user, id, key. */
export function requestFrame(
  options: { type?: number; user?: number; dstPort?: number; ipv6?: boolean; vlan?: boolean; payloadBytes?: number; udpLength?: number } = {},
): Uint8Array {
  const payload = new Uint8Array(options.payloadBytes ?? 24);
  const p = new DataView(payload.buffer);
  if (payload.length >= 4) p.setUint32(0, options.type ?? 0);
  if (payload.length >= 8) p.setUint32(4, options.user ?? USER);
  if (payload.length >= 16) p.setBigUint64(8, 1n);
  if (payload.length >= 24) p.setBigUint64(16, 42n);
  const ipv6 = options.ipv6 ?? false;
  const l2 = options.vlan ? 18 : 14;
  const l3 = ipv6 ? 40 : 20;
  const bytes = new Uint8Array(l2 + l3 + 8 + payload.length);
  const v = new DataView(bytes.buffer);
  if (options.vlan) v.setUint32(12, 0x8100_002a);
  v.setUint16(l2 - 2, ipv6 ? 0x86dd : 0x0800);
  if (ipv6) {
    v.setUint32(l2, 0x6000_0000);
    v.setUint16(l2 + 4, 8 + payload.length);
    v.setUint8(l2 + 6, 17);
    for (let i = 0; i < 16; i++) bytes[l2 + 8 + i] = i * 7;
    for (let i = 0; i < 16; i++) bytes[l2 + 24 + i] = 255 - i;
  } else {
    v.setUint8(l2, 0x45);
    v.setUint16(l2 + 2, 20 + 8 + payload.length);
    v.setUint8(l2 + 8, 64);
    v.setUint8(l2 + 9, 17);
    bytes.set([10, 0, 0, 1, 10, 0, 0, 2], l2 + 12);
  }
  const udp = l2 + l3;
  v.setUint16(udp, 40000);
  v.setUint16(udp + 2, options.dstPort ?? PORT);
  v.setUint16(udp + 4, options.udpLength ?? 8 + payload.length);
  bytes.set(payload, udp + 8);
  return bytes;
}

function policyIr(name: BenchPolicy): { ir: PolicyIr; text: string } {
  const text = readFileSync(fileURLToPath(new URL(`../../policies-std/src/${name}.ts`, import.meta.url)), 'utf8');
  return { ir: compilePolicy({ fileName: `${name}.ts`, text }).ir, text };
}

/** clang, when installed: `{ clang }` with its version line, or why not. */
export function findClang(): { clang: string; version: string } | { unavailable: string } {
  const clang = process.env['CLANG'] ?? 'clang';
  try {
    const version = execFileSync(clang, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
    return { clang, version };
  } catch {
    return { unavailable: `no clang on PATH (install the Debian package 'clang', or set $CLANG) to build the C references in bench/c/` };
  }
}

/** A C program loaded with maps created here; closing closes both. */
interface LoadedC extends Disposable {
  readonly program: Program;
  readonly dataMaps: ReadonlyMap<string, KernelDataMapStore>;
  readonly result: KernelMap | undefined;
  readonly slots: number;
}

/** Builds bench/c/<name>.c (with -DSYRUP_CHECK: the recording flavour) and loads it, with maps shaped as the TypeScript policy declares them. */
function loadC(clang: string, dir: string, name: BenchPolicy, ir: PolicyIr, check: boolean): LoadedC {
  const source = fileURLToPath(new URL(`./c/${name}.c`, import.meta.url));
  const object = join(dir, `${name}${check ? '.check' : ''}.o`);
  execFileSync(clang, ['-O2', '-target', 'bpf', '-mcpu=v3', '-Wall', ...(check ? ['-DSYRUP_CHECK'] : []), '-c', source, '-o', object], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const elf = new BpfObject(readFileSync(object));
  const owned: Disposable[] = [];
  const dataMaps = new Map<string, KernelDataMapStore>();
  let result: KernelMap | undefined;
  try {
    const fds = new Map<string, number>();
    const fdOf = (symbol: string): number => {
      const known = fds.get(symbol);
      if (known !== undefined) return known;
      let map: KernelMap;
      const spec = ir.manifest.maps[symbol];
      if (spec !== undefined) {
        const store = KernelDataMapStore.create(spec, { name: `c_${symbol}`, mmapable: spec.kind === 'array' });
        owned.push(store);
        dataMaps.set(symbol, store);
        map = store.kernelMap;
      } else if (symbol === 'executors') {
        map = KernelMap.create({ type: MapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 64, name: 'c_executors' });
        owned.push(map);
      } else if (symbol === 'result') {
        map = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, name: 'c_result' });
        owned.push(map);
        result = map;
      } else {
        throw new Error(`bench/c/${name}.c references '${symbol}', which ${name}.ts does not declare`);
      }
      fds.set(symbol, map.fd.raw);
      return map.fd.raw;
    };
    const instructions = elf.program(C_SECTION, fdOf);
    const program = Program.load({ name: `c_${name.replace(/-/g, '_')}`, type: ProgType.XDP, license: 'Dual BSD/GPL', instructions });
    const close = (): void => {
      program.close();
      for (const resource of owned.reverse()) resource[Symbol.dispose]();
    };
    return { program, dataMaps, result, slots: elf.slots(C_SECTION), [Symbol.dispose]: close };
  } catch (error) {
    for (const resource of owned.reverse()) resource[Symbol.dispose]();
    throw error;
  }
}

const u32Key = (key: number): Uint8Array => new Uint8Array(new Uint32Array([key]).buffer);
const readU64 = (map: KernelMap, key: number): bigint => new DataView(map.lookup(u32Key(key))!.buffer).getBigUint64(0, true);

/** The decision a recording program (the TypeScript harness or a C check build) wrote for `frame`. */
function recordedDecision(program: Program, result: KernelMap, frame: Uint8Array): string {
  result.update(u32Key(0), new Uint8Array(new BigUint64Array([99n]).buffer));
  const run = program.testRun(frame);
  if (run.retval !== 2) return `retval ${run.retval}`;
  const kind = readU64(result, 0);
  if (kind === BigInt(HARNESS_RESULT_KIND.executor)) return `executor ${readU64(result, 1)}`;
  if (kind === BigInt(HARNESS_RESULT_KIND.pass)) return 'PASS';
  if (kind === BigInt(HARNESS_RESULT_KIND.drop)) return 'DROP';
  return `no decision (${kind})`;
}

/** Starting map contents for the equivalence check and the timing: some buckets, one busy socket. */
function seed(name: BenchPolicy, maps: ReadonlyMap<string, KernelDataMapStore>, timing: boolean): void {
  if (name === 'token-qos') {
    const tokens = maps.get('tokens')!;
    tokens.update(USER, [timing ? FULL_BUCKET : 2n]);
    tokens.update(0, [3n]);
    tokens.update(9, [1n]);
  }
  if (name === 'scan-avoid' && !timing) maps.get('busy')!.update(2, [1n]);
}

/**
 * The C reference makes the policy's decisions: its recording build and the code generator's
 * test harness run the same frames from the same maps and must agree on every decision and on
 * the maps afterwards. Throws with the first difference.
 */
function checkEquivalent(clang: string, dir: string, name: BenchPolicy, ir: PolicyIr, text: string): void {
  using c = loadC(clang, dir, name, ir, true);
  using ts = loadProgramSpec(generateTestHarness(ir, { port: PORT, sourceText: text }));
  seed(name, c.dataMaps, false);
  seed(name, ts.dataMaps, false);
  const frames: [string, Uint8Array][] = [];
  for (const type of [0, 1, 2]) for (const user of [0, 7, 9, 5000]) frames.push([`type ${type} user ${user}`, requestFrame({ type, user })]);
  frames.push(
    ['IPv6', requestFrame({ ipv6: true })],
    ['VLAN', requestFrame({ vlan: true, type: 1 })],
    ['another port', requestFrame({ dstPort: 9001 })],
    ['3-byte payload', requestFrame({ payloadBytes: 3 })],
    ['7-byte payload', requestFrame({ payloadBytes: 7, user: 0 })],
    ['UDP length 4', requestFrame({ udpLength: 4 })],
    ['UDP length past the frame', requestFrame({ udpLength: 200, type: 1 })],
  );
  for (let round = 0; round < 3; round++) {
    for (const [what, frame] of frames) {
      const expected = recordedDecision(ts.program, ts.systemMaps.get(SYSTEM_MAP_NAMES.result)!, frame);
      const got = recordedDecision(c.program, c.result!, frame);
      if (got !== expected) throw new Error(`bench/c/${name}.c decides ${got} where ${name}.ts decides ${expected} (${what}, round ${round})`);
      for (const [map, store] of ts.dataMaps) {
        for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) {
          const want = store.lookup(key)?.[0];
          const have = c.dataMaps.get(map)?.lookup(key)?.[0];
          if (want !== have) throw new Error(`bench/c/${name}.c leaves ${map}[${key}] = ${have} where ${name}.ts leaves ${want} (${what})`);
        }
      }
    }
  }
}

/** Runs `repeat` times and answers the kernel's ns per run; a signal (EINTR) makes it run again. */
export function timeRun(runner: TestRunner, frame: Uint8Array, repeat: number): number {
  for (;;) {
    try {
      return runner.run(frame, { repeat }).durationNs;
    } catch (error) {
      if (!(error instanceof ProgramError && isSyscallError(error.cause, 'EINTR'))) throw error;
    }
  }
}

interface Side {
  readonly slots: number;
  readonly xlated: number;
  readonly runner: TestRunner;
  readonly samples: number[];
}

interface Entry {
  readonly name: BenchPolicy;
  readonly ts: Side;
  readonly c: Side | undefined;
}

export interface PolicyBenchResult {
  readonly policies: Record<string, { insns: number; xlatedInsns: number; nsPerDecision: number }>;
  readonly policiesC: Record<string, { insns: number; xlatedInsns: number; nsPerDecision: number }> | null;
  readonly policiesRatio: Record<string, { insns: number; time: number; nsMoreThanC: number }> | null;
  readonly policiesCReference: string | null;
  readonly policiesCUnavailable?: string;
  readonly policiesSpread: Record<string, { ts: [number, number]; c: [number, number] | null }>;
}

/**
 * The programs of the policy benchmark, loaded once. `round(empty)` times every policy on both
 * sides (alternating which goes first) and keeps each duration minus the empty program's, timed
 * by `empty()` just before and just after (their mean); `result()` reports medians.
 */
export class PolicyBench implements Disposable {
  readonly #entries: Entry[] = [];
  readonly #owned: Disposable[] = [];
  readonly #frame = requestFrame();
  readonly #repeat: number;
  readonly #clang: { clang: string; version: string } | { unavailable: string };
  #rounds = 0;

  constructor(repeat: number) {
    this.#repeat = repeat;
    this.#clang = findClang();
    const dir = mkdtempSync(join(tmpdir(), 'syrup-bench-c-'));
    try {
      for (const name of BENCH_POLICIES) {
        const { ir, text } = policyIr(name);
        const spec = generateProgram(ir, { target: 'xdp-skb', port: PORT, sourceText: text });
        const ts = loadProgramSpec(spec);
        this.#owned.push(ts);
        seed(name, ts.dataMaps, true);
        let c: Side | undefined;
        if ('clang' in this.#clang) {
          checkEquivalent(this.#clang.clang, dir, name, ir, text);
          const loaded = loadC(this.#clang.clang, dir, name, ir, false);
          this.#owned.push(loaded);
          seed(name, loaded.dataMaps, true);
          c = { slots: loaded.slots, xlated: loaded.program.info().xlatedProgLen / 8, runner: loaded.program.testRunner(), samples: [] };
        }
        this.#entries.push({
          name,
          ts: { slots: spec.slotCount, xlated: ts.program.info().xlatedProgLen / 8, runner: ts.program.testRunner(), samples: [] },
          c,
        });
      }
    } catch (error) {
      this.close();
      throw error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  round(empty: () => number): void {
    const cFirst = this.#rounds % 2 === 1;
    this.#rounds++;
    const before = empty();
    const raw: [Side, number][] = [];
    for (const entry of this.#entries) {
      const sides = cFirst ? [entry.c, entry.ts] : [entry.ts, entry.c];
      for (const side of sides) {
        if (side !== undefined) raw.push([side, timeRun(side.runner, this.#frame, this.#repeat)]);
      }
    }
    const baseline = (before + empty()) / 2;
    for (const [side, ns] of raw) side.samples.push(ns - baseline);
  }

  result(): PolicyBenchResult {
    const median = (values: readonly number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const round2 = (value: number): number => Math.round(value * 100) / 100;
    const side = (s: Side): { insns: number; xlatedInsns: number; nsPerDecision: number } => ({
      insns: s.slots,
      xlatedInsns: s.xlated,
      nsPerDecision: round2(median(s.samples)),
    });
    const haveC = this.#entries.every((e) => e.c !== undefined);
    const clang = this.#clang;
    return {
      policies: Object.fromEntries(this.#entries.map((e) => [e.name, side(e.ts)])),
      policiesC: haveC ? Object.fromEntries(this.#entries.map((e) => [e.name, side(e.c!)])) : null,
      // Time ratios are per round (both sides measured seconds apart), then the median.
      policiesRatio: haveC
        ? Object.fromEntries(
            this.#entries.map((e) => [
              e.name,
              {
                insns: round2(e.ts.slots / e.c!.slots),
                time: round2(median(e.ts.samples.map((t, i) => t / Math.max(1, e.c!.samples[i]!)))),
                nsMoreThanC: round2(median(e.ts.samples.map((t, i) => t - e.c!.samples[i]!))),
              },
            ]),
          )
        : null,
      policiesCReference: 'clang' in clang ? `bench/c/<policy>.c built with ${clang.version}, -O2 -target bpf -mcpu=v3` : null,
      ...('unavailable' in clang ? { policiesCUnavailable: clang.unavailable } : {}),
      policiesSpread: Object.fromEntries(
        this.#entries.map((e) => [
          e.name,
          {
            ts: [Math.min(...e.ts.samples), Math.max(...e.ts.samples)] as [number, number],
            c: e.c === undefined ? null : ([Math.min(...e.c.samples), Math.max(...e.c.samples)] as [number, number]),
          },
        ]),
      ),
    };
  }

  close(): void {
    for (const resource of this.#owned.splice(0).reverse()) resource[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
