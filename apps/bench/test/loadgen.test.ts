import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildArrivalSchedule } from '../src/loadgen/arrival-schedule.js';
import { NotLoopbackError, parseLoopbackHost } from '../src/loadgen/loopback-address.js';
import { parseMix } from '../src/loadgen/request-mix.js';
import { requestHeaders } from '../src/loadgen/xsk-transport.js';
import { finishChecksum, onesComplementSum } from '@syrup/backend-ebpf/xsk';
import { runLoadgen, type LoadgenOptions } from '../src/loadgen/run-loadgen.js';
import { startEchoServer } from './support/udp-echo-server.js';

const run = promisify(execFile);
const LOADGEN_BIN = fileURLToPath(new URL('../bin/loadgen.mjs', import.meta.url));

function options(port: number, overrides: Partial<LoadgenOptions> = {}): LoadgenOptions {
  return {
    host: '127.0.0.1',
    port,
    users: [{ user: 0, rate: 2000 }],
    flows: 4,
    mix: parseMix('get=0.9,scan=0.1'),
    keys: 1000,
    durationS: 1,
    warmupS: 0.2,
    // Generous: the run ends as soon as everything is answered, and a busy machine may starve the echo server for a while.
    graceMs: 3000,
    cpu: null,
    seed: 7,
    ...overrides,
  };
}

describe('arrival schedule', () => {
  it('is sorted, spreads requests over the flows and mix, and stops at the count bound', () => {
    const schedule = buildArrivalSchedule({
      streams: [{ user: 3, rate: 10_000 }, { user: 9, rate: 5000 }],
      flowsPerUser: 4,
      mix: parseMix('get=0.5,scan=0.5'),
      keys: 10,
      warmupS: 0.1,
      durationS: 1,
      seed: 1,
    });
    for (let i = 1; i < schedule.length; i++) expect(schedule.timeUs[i]).toBeGreaterThanOrEqual(schedule.timeUs[i - 1]!);
    // Poisson: about rate x time requests (10 standard deviations of slack, no flakiness).
    expect(schedule.length).toBeGreaterThan(16_500 - 1300);
    expect(schedule.length).toBeLessThan(16_500 + 1300);
    const users = new Set(schedule.user);
    expect([...users].sort()).toEqual([3, 9]);
    for (let i = 0; i < schedule.length; i++) {
      // Each user owns its own flows.
      expect(schedule.user[i] === 3 ? schedule.flow[i]! < 4 : schedule.flow[i]! >= 4).toBe(true);
      expect(schedule.key[i]).toBeLessThan(10);
    }
    const scans = schedule.type.reduce((a, t) => a + (t === 1 ? 1 : 0), 0);
    expect(scans / schedule.length).toBeGreaterThan(0.4);
    const bounded = buildArrivalSchedule({ streams: [{ user: 0, rate: 10_000 }], flowsPerUser: 1, mix: parseMix('get=1'), keys: 1, warmupS: 0, durationS: 1, maxCount: 100, seed: 1 });
    expect(bounded.length - bounded.measuredFrom).toBe(100);
    expect(bounded.measuredWindowS).toBeLessThan(0.1);
  });

  it('parses mixes and refuses ones that do not sum to 1', () => {
    expect(parseMix('get=0.995,scan=0.005')).toEqual({ get: 0.995, scan: 0.005, put: 0 });
    expect(() => parseMix('get=0.5')).toThrow(/sum to 1/);
    expect(() => parseMix('read=1')).toThrow(/type=fraction/);
  });
});

describe('loopback only', () => {
  it('accepts 127/8 and localhost and refuses everything else', () => {
    expect(parseLoopbackHost('127.0.0.1')).toEqual([127, 0, 0, 1]);
    expect(parseLoopbackHost('localhost')).toEqual([127, 0, 0, 1]);
    expect(parseLoopbackHost('127.1.2.3')).toEqual([127, 1, 2, 3]);
    for (const host of ['10.0.0.1', '8.8.8.8', 'example.com', '::1', '127.0.0.256']) expect(() => parseLoopbackHost(host)).toThrow(NotLoopbackError);
  });

  it('the loadgen process exits 2 with one sentence for a remote address', async () => {
    const error = await run(process.execPath, [LOADGEN_BIN, '--port', '9', '--host', '192.0.2.1', '--no-pin']).catch((e: unknown) => e as { code: number; stderr: string });
    expect(error).toMatchObject({ code: 2 });
    expect((error as { stderr: string }).stderr.trim()).toMatch(/^loadgen: the load generator only sends to loopback addresses .* not 192\.0\.2\.1$/);
  });

  it('refuses the AF_XDP transport on loopback, and an unknown transport, with one sentence each', async () => {
    const onLoopback = await run(process.execPath, [LOADGEN_BIN, '--port', '9', '--transport', 'af-xdp', '--no-pin']).catch((e: unknown) => e as { code: number; stderr: string });
    expect(onLoopback).toMatchObject({ code: 2 });
    expect((onLoopback as { stderr: string }).stderr.trim()).toBe("loadgen: --transport af-xdp needs --namespace: XDP in driver mode runs on the runner's veth, not on loopback");
    const unknown = await run(process.execPath, [LOADGEN_BIN, '--port', '9', '--transport', 'dpdk', '--no-pin']).catch((e: unknown) => e as { code: number; stderr: string });
    expect(unknown).toMatchObject({ code: 2 });
    expect((unknown as { stderr: string }).stderr.trim()).toBe('loadgen: --transport must be udp or af-xdp');
  });
});

describe('AF_XDP request frames', () => {
  const path = { interface: 'veth0', sourceMac: Uint8Array.from([2, 0, 0, 0, 0, 2]), sourceAddress: [10, 231, 7, 2] as const, serverMac: Uint8Array.from([2, 0, 0, 0, 0, 1]) };
  const headers = requestHeaders(path, [10, 231, 7, 1], 9100, 41003, 24);

  it('address the server from this side of the veth, flow by flow', () => {
    const view = new DataView(headers.buffer);
    expect([...headers.subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 1]);
    expect([...headers.subarray(6, 12)]).toEqual([2, 0, 0, 0, 0, 2]);
    expect(view.getUint16(12)).toBe(0x0800);
    expect([...headers.subarray(26, 30)]).toEqual([10, 231, 7, 2]);
    expect([...headers.subarray(30, 34)]).toEqual([10, 231, 7, 1]);
    expect(view.getUint16(34)).toBe(41003);
    expect(view.getUint16(36)).toBe(9100);
  });

  it('carry the lengths of a 24-byte request and a valid IPv4 header checksum', () => {
    const view = new DataView(headers.buffer);
    expect(headers).toHaveLength(42);
    expect(view.getUint16(16)).toBe(20 + 8 + 24);
    expect(view.getUint16(38)).toBe(8 + 24);
    expect(view.getUint16(40)).toBe(0);
    // A header with its checksum in place sums (ones' complement) to 0xffff.
    expect(finishChecksum(onesComplementSum(headers, 14, 34))).toBe(0);
  });
});

describe('load generator against an echo server', () => {
  it('counts every request and fills the per-type and per-user histograms', async () => {
    await using server = await startEchoServer();
    const report = await runLoadgen(options(server.port));
    expect(report.dropped).toBe(0);
    expect(report.sent).toBe(report.received);
    expect(report.sent).toBeGreaterThan(1000);
    expect(report.byType.GET!.received + report.byType.SCAN!.received).toBe(report.received);
    expect(report.byType.SCAN!.received).toBeGreaterThan(0);
    for (const summary of [report.byType.GET!, report.byType.SCAN!, report.byUser['0']!]) {
      expect(summary.p50Us).toBeGreaterThan(0);
      expect(summary.p50Us).toBeLessThanOrEqual(summary.p99Us);
      expect(summary.p99Us).toBeLessThanOrEqual(summary.p999Us);
      expect(summary.p999Us).toBeLessThanOrEqual(summary.maxUs);
    }
    expect(report.strayReplies).toBe(0);
    // The echo server answers as worker 0, warm-up included.
    expect(report.repliesPerWorker[0]).toBeGreaterThanOrEqual(report.received);
    expect(report.gcPauses.count).toBeGreaterThanOrEqual(0);
    expect(report.cpu).toBeNull();
  });

  it('counts requests the server ignores as dropped', async () => {
    await using server = await startEchoServer(10);
    const report = await runLoadgen(options(server.port, { mix: parseMix('get=1') }));
    // Every tenth datagram the server sees is ignored (warm-up ones too), so about 10% of the measured ones.
    expect(report.dropped).toBeGreaterThan(report.sent * 0.08);
    expect(report.dropped).toBeLessThan(report.sent * 0.12);
    expect(report.byType.GET!.dropped).toBe(report.dropped);
    expect(report.received + report.dropped).toBe(report.byType.GET!.count);
  });

  it('stops at the count bound when it comes before the duration', async () => {
    await using server = await startEchoServer();
    const report = await runLoadgen(options(server.port, { durationS: 60, count: 500 }));
    expect(report.sent).toBe(500);
    expect(report.received + report.dropped).toBe(500);
    // 500 requests at 2000/s: about a quarter of a second, not the 60 s of --duration.
    expect(report.measuredWindowS).toBeLessThan(5);
  });

  it('gives each user its own stream and reports them separately', async () => {
    await using server = await startEchoServer();
    const report = await runLoadgen(options(server.port, { users: [{ user: 1, rate: 1000 }, { user: 2, rate: 500 }], flows: 2 }));
    expect(report.flows).toBe(4);
    expect(report.offeredRps).toBe(1500);
    expect(Object.keys(report.byUser)).toEqual(['1', '2']);
    expect(report.byUser['1']!.count).toBeGreaterThan(report.byUser['2']!.count);
    expect(report.byUser['1']!.offeredRps).toBe(1000);
  });

  it('runs as its own process pinned to a CPU and prints one JSON object', async () => {
    await using server = await startEchoServer();
    const { stdout } = await run(process.execPath, [LOADGEN_BIN, '--port', String(server.port), '--rate', '1000', '--duration', '0.5', '--warmup', '0.1', '--cpu', '0', '--mix', 'get=1']);
    const report = JSON.parse(stdout) as { cpu: number; received: number; dropped: number; byType: { GET: { count: number } } };
    expect(report.cpu).toBe(0);
    expect(report.dropped).toBe(0);
    expect(report.received).toBe(report.byType.GET.count);
  });
});
