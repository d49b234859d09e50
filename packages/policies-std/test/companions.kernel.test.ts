import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EbpfBackend } from '@syrup/backend-ebpf';
import { SocketSelectHook } from '@syrup/backend-ebpf/hooks';
import { compilePolicy, HookRegistryImpl, ManagedDeployment, type DeployTarget, type PolicyUnit } from '@syrup/core';
import type { DataMap } from '@syrup/maps';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { ScanTracker, standardPolicyPath, TokenRefiller, type StandardPolicyName } from '../src/index.js';
import { fence, request, ReuseportGroup, Sender, waitFor } from './support/udp.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/*
 * The companions on real sockets: scan-avoid and token-qos deployed through the eBPF backend's
 * socket-select hook on a loopback SO_REUSEPORT group, with ScanTracker and TokenRefiller
 * working on the deployment's kernel maps while datagrams flow.
 */

const GET = 0;
const SCAN = 1;

/** A standard policy as the client hands it to the deploy path: its text, compiled with `params`. */
function unit(name: StandardPolicyName, params: Record<string, number>): PolicyUnit {
  const source = { fileName: `${name}.ts`, text: readFileSync(standardPolicyPath(name), 'utf8') };
  const { ir, manifest } = compilePolicy(source, { params });
  return { manifest, ir, source };
}

/** One eBPF backend with only its socket-select hook, for every deployment; the last test closes it (its code generation workers). */
const backend = new EbpfBackend([new SocketSelectHook()]);

/** Core's deploy path with only the eBPF backend's socket-select hook. */
function deploy(policy: PolicyUnit, target: DeployTarget): Promise<ManagedDeployment> {
  const registry = new HookRegistryImpl([backend]);
  return new ManagedDeployment(registry, policy, { hook: 'socket-select', target }).start();
}

const userOf = (payload: Buffer): number | undefined => (payload.length === 24 ? payload.readUInt32BE(4) : undefined);
const isFence = (tag: number) => (payload: Buffer): boolean => payload.length === 2 && payload[0] === 0xfe && payload[1] === tag;

describeKernel('the userspace companions on the kernel maps of real deployments', { needs: ['bpf'] }, () => {
  const cleanup: (() => unknown)[] = [];
  let fdsBefore = 0;
  beforeAll(() => {
    fdsBefore = openFdCount();
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function group(count: number): ReuseportGroup {
    const g = ReuseportGroup.open(count);
    cleanup.push(() => g.close());
    return g;
  }

  async function sender(): Promise<Sender> {
    const s = await Sender.open();
    cleanup.push(() => s.close());
    return s;
  }

  async function deployed(policy: PolicyUnit, g: ReuseportGroup): Promise<ManagedDeployment> {
    const d = await deploy(policy, { port: g.port, extra: { sockets: g.sockets } });
    cleanup.push(() => d.undeploy());
    return d;
  }

  /** Sends `payloads` round robin over `senders`, then a fence from each, and waits for the fences. */
  async function sendAndFence(g: ReuseportGroup, senders: readonly Sender[], payloads: readonly Buffer[], tag: number): Promise<void> {
    for (const [i, payload] of payloads.entries()) await (senders[i % senders.length] as Sender).send(g.port, payload);
    for (const s of senders) await s.send(g.port, fence(tag));
    const arrived = await waitFor(() => g.all().filter(isFence(tag)).length === senders.length);
    expect(arrived, `fences ${tag} arrived`).toBe(true);
  }

  it('ScanTracker keeps scan-avoid\'s GETs off the socket it marks busy, and gives it back when the SCAN ends', async () => {
    const SOCKETS = 4;
    const g = group(SOCKETS);
    const senders = await Promise.all(Array.from({ length: 5 }, () => sender()));
    const d = await deployed(unit('scan-avoid', { SOCKETS }), g);
    const busy = d.maps['busy'] as DataMap;
    const tracker = new ScanTracker(busy, SOCKETS);
    const gets = (n: number, from: number): Buffer[] => Array.from({ length: n }, (_, i) => request(GET, 0, BigInt(from + i), BigInt(from + i)));
    const requestsPer = (): number[] => {
      g.poll();
      return g.received.map((list) => list.filter((p) => p.length === 24).length);
    };

    // Idle: plain round robin, socket 2 included.
    await sendAndFence(g, senders, gets(8, 0), 1);
    expect(requestsPer()).toEqual([2, 2, 2, 2]);

    await tracker.scanStarted(2);
    expect(await busy.get(2)).toBe(1n);
    g.clear();
    await sendAndFence(g, senders, gets(60, 100), 2);
    const during = requestsPer();
    expect(during[2], `GETs per socket while socket 2 is busy: ${during.join(' ')}`).toBe(0);
    for (const socket of [0, 1, 3]) expect(during[socket], `socket ${socket}: ${during.join(' ')}`).toBeGreaterThan(0);
    expect(during.reduce((a, b) => a + b)).toBe(60);
    // Every flow was steered, not only the ones the kernel's own hash would have kept off socket 2
    // (request i came from sender i % 5, and its id is 100 + i).
    const flows = new Set(g.all().filter((p) => p.length === 24).map((p) => Number(p.readBigUInt64BE(8) - 100n) % senders.length));
    expect(flows.size).toBe(senders.length);

    // A SCAN takes the lowest idle socket: with 0 busy too, that is 1.
    await tracker.scanStarted(0);
    g.clear();
    await sendAndFence(g, senders, [request(SCAN, 0, 5n, 999n)], 3);
    expect(requestsPer()).toEqual([0, 1, 0, 0]);
    await tracker.scanFinished(0);

    await tracker.scanFinished(2);
    expect(await busy.get(2)).toBe(0n);
    g.clear();
    await sendAndFence(g, senders, gets(40, 200), 4);
    const after = requestsPer();
    expect(after[2], `GETs per socket after the SCAN: ${after.join(' ')}`).toBeGreaterThan(0);
    expect(after.reduce((a, b) => a + b)).toBe(40);
  });

  it('TokenRefiller feeds token-qos: the latency-sensitive user first, best-effort from the spare, no token means DROP', async () => {
    const LS = 1;
    const BE = 2;
    const BURST = 20;
    const g = group(2);
    const lsSender = await sender();
    const beSender = await sender();
    const d = await deployed(unit('token-qos', { SOCKETS: 2, LS_USER: LS }), g);
    const tokens = d.maps['tokens'] as DataMap;
    const next = d.maps['next'] as DataMap;
    const refiller = new TokenRefiller(tokens, { ratePerSec: 2000, latencySensitiveUser: LS, bestEffortUsers: [BE], burst: BURST });
    cleanup.push(() => refiller.close());
    const receivedFrom = (user: number): number => g.all().filter((p) => userOf(p) === user).length;
    const burstOf = (user: number, n: number, from: number): Buffer[] => Array.from({ length: n }, (_, i) => request(GET, user, BigInt(i), BigInt(from + i)));
    const sendBoth = async (n: number, tag: number, from: number): Promise<void> => {
      await Promise.all([sendAndFence(g, [lsSender], burstOf(LS, n, from), tag), sendAndFence(g, [beSender], burstOf(BE, n, from), tag + 100)]);
    };

    // No tokens yet: everything is dropped.
    await sendBoth(10, 1, 0);
    expect([receivedFrom(LS), receivedFrom(BE)]).toEqual([0, 0]);

    // Steps by hand first, so the split is exact: 12 tokens all go to the LS bucket, which has room.
    await refiller.refillOnce(6);
    expect([await tokens.get(LS), await tokens.get(BE)]).toEqual([12n, 0n]);
    await sendBoth(30, 2, 100);
    expect([receivedFrom(LS), receivedFrom(BE)]).toEqual([12, 0]);
    // 30 tokens with LS empty: 20 fill LS to its burst, its unused 10 go to BE.
    await refiller.refillOnce(15);
    expect([await tokens.get(LS), await tokens.get(BE)]).toEqual([20n, 10n]);
    await sendBoth(30, 3, 200);
    expect([receivedFrom(LS), receivedFrom(BE)]).toEqual([32, 10]);
    expect(refiller.granted).toEqual({ latencySensitive: 32n, bestEffort: 10n });
    expect(await next.get(0)).toBe(42n);

    // Now on the timer, while both users send more than the rate in bursts of 40.
    g.clear();
    const startLevels = { ls: await tokens.get(LS), be: await tokens.get(BE) };
    const grantedBefore = refiller.granted;
    const rounds = 40;
    const perBurst = 40;
    refiller.start();
    for (let round = 0; round < rounds; round++) {
      // Each burst is sent in one go: the refiller runs on this thread, so it cannot add tokens in the middle of one.
      await Promise.all([
        ...burstOf(LS, perBurst, 1000 + round * perBurst).map((p) => lsSender.send(g.port, p)),
        ...burstOf(BE, perBurst, 1000 + round * perBurst).map((p) => beSender.send(g.port, p)),
      ]);
      // Drained every round: the sockets' receive buffers would otherwise overflow and lose admitted requests.
      g.poll();
      await sleep(3);
    }
    refiller.stop();
    await sendBoth(0, 4, 0);
    const granted = { ls: refiller.granted.latencySensitive - grantedBefore.latencySensitive, be: refiller.granted.bestEffort - grantedBefore.bestEffort };
    const endLevels = { ls: await tokens.get(LS), be: await tokens.get(BE) };
    const ls = receivedFrom(LS);
    const be = receivedFrom(BE);
    const sent = rounds * perBurst;
    const report = `sent ${sent} each; received LS ${ls}, BE ${be}; granted LS ${granted.ls}, BE ${granted.be}; levels ${startLevels.ls}/${startLevels.be} -> ${endLevels.ls}/${endLevels.be}`;

    // Every admitted request took exactly one token the refiller granted (or one already there), and none was lost or invented.
    expect(BigInt(ls), report).toBe(startLevels.ls + granted.ls - endLevels.ls);
    expect(BigInt(be), report).toBe(startLevels.be + granted.be - endLevels.be);
    expect(await next.get(0), report).toBe(42n + BigInt(ls + be));
    // Requests beyond the tokens were dropped, and the buckets never held more than the burst.
    expect(ls, report).toBeLessThan(sent);
    expect(be, report).toBeLessThan(sent);
    expect(ls, report).toBeGreaterThan(0);
    expect(endLevels.ls <= BigInt(BURST) && endLevels.be <= BigInt(BURST), report).toBe(true);
    // Best-effort gets only what the latency-sensitive bucket could not hold.
    expect(ls, report).toBeGreaterThanOrEqual(be);
    expect(granted.ls, report).toBeGreaterThanOrEqual(granted.be);
  });

  it('left no kernel object or socket behind (the process holds the fds it held before)', async () => {
    // The backend's code generation workers hold their own event loops' fds until it closes.
    await backend.close();
    // Node closes its dgram sockets a moment after close(), hence the wait.
    expect(await waitFor(() => openFdCount() === fdsBefore), `${openFdCount()} fds open, ${fdsBefore} before`).toBe(true);
  });
});
