// What a connect() client gets from the daemon beyond request/response: deployment events
// pushed when the deployment changes or ends behind the client's back (another client's
// replace, the target process exiting), and map atomics (fetchAdd, compareExchange) through
// the protocol, enough for policies-std's companions to run over a client connection.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { asDataMap, connect, type ClientDeployment, type SyrupClient } from '@syrup/runtime';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
// The companions, from their source (this app does not depend on the policy pack).
import { ScanTracker, TokenRefiller } from '@syrup/policies-std';
import { startDaemonChild } from './support/daemon.js';

const here = dirname(fileURLToPath(import.meta.url));
const STD = join(here, '../../../packages/policies-std/src');
const REUSEPORT_SERVER = join(here, '../../../packages/backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');
const policy = (name: string) => ({ fileName: `${name}.ts`, text: readFileSync(join(STD, `${name}.ts`), 'utf8') });
const HASHED = {
  fileName: 'hashed.ts',
  text: [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'hashed',",
    "  input: 'udp',",
    "  maps: { busy: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 } },",
    '  schedule(pkt, { busy }) { busy.fetchAdd(0, 1); return 0; },',
    '});',
    '',
  ].join('\n'),
};

/** An unmodified Python UDP server with `count` SO_REUSEPORT sockets on loopback. */
async function pythonServer(count: number): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const child = spawn('python3', [REUSEPORT_SERVER, String(count)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const hello = JSON.parse(line) as { port: number; pid: number };
  return { child, port: hello.port, pid: hello.pid };
}

/** Resolves with the event's arguments when `deployment` emits it, or rejects after `ms`. */
function nextEvent<E extends 'replaced' | 'undeployed'>(deployment: ClientDeployment, event: E, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    deployment.once(event, ((arg: unknown) => {
      clearTimeout(timer);
      resolve(arg);
    }) as never);
  });
}

describeKernel('a connect() client of syrupd: pushed deployment events and map atomics', { needs: ['bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('hears another client\'s replace and the target\'s exit (within a second), and runs ScanTracker and TokenRefiller over client maps', async () => {
    const daemon = await startDaemonChild();
    cleanup.push(() => daemon.stop());
    const server = await pythonServer(2);
    cleanup.push(() => server.child.kill('SIGKILL'));
    const qosServer = await pythonServer(2);
    cleanup.push(() => qosServer.child.kill('SIGKILL'));
    const first: SyrupClient = await connect({ socketPath: daemon.socketPath });
    cleanup.push(() => first.close());
    const second: SyrupClient = await connect({ socketPath: daemon.socketPath });
    cleanup.push(() => second.close());

    const mine = await first.deploy(policy('scan-avoid'), { hook: 'socket-select', port: server.port, pid: server.pid, params: { SOCKETS: 2 } });
    const theirs = await second.deployment(mine.id);

    // Typed maps: the shape comes with the deployment, atomics go through the daemon (kernel arrays are mmapable, so atomic).
    const busy = theirs.maps['busy'];
    expect(busy?.spec).toEqual({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 });
    expect(await busy?.fetchAdd(5, 2n)).toBe(0n);
    expect(await busy?.compareExchange(5, 2n, 7n)).toBe(2n);
    expect(await busy?.compareExchange(5, 2n, 9n)).toBe(7n);
    expect(await mine.maps['busy']?.get(5)).toBe(7n);
    // scan-avoid's companion over the other client's view of the map.
    const tracker = new ScanTracker(asDataMap(busy as NonNullable<typeof busy>), 2);
    await tracker.scanStarted(1);
    await tracker.scanStarted(1);
    await tracker.scanFinished(1);
    expect(await mine.maps['busy']?.get(1)).toBe(1n);

    // token-qos's refiller over a client map: 10 ms at 1000 tokens/s fill the latency-sensitive bucket (burst 10).
    const qos = await first.deploy(policy('token-qos'), { hook: 'socket-select', port: qosServer.port, pid: qosServer.pid, params: { SOCKETS: 2, LS_USER: 0 } });
    const refiller = new TokenRefiller(asDataMap(qos.maps['tokens'] as NonNullable<ClientDeployment['maps'][string]>), { ratePerSec: 1000, burst: 10, latencySensitiveUser: 0, bestEffortUsers: [1] });
    await refiller.refillOnce(15);
    expect([await qos.maps['tokens']?.get(0), await qos.maps['tokens']?.get(1)]).toEqual([10n, 5n]);
    refiller.close();

    // The first client replaces; the second client's handle hears it, with the new maps.
    const replaced = nextEvent(theirs, 'replaced', 2000);
    await mine.replace(HASHED);
    expect(await replaced).toMatchObject({ id: mine.id, policy: 'hashed', maps: ['busy'] });
    expect(theirs.policy).toBe('hashed');
    const table = theirs.maps['busy'];
    expect(table?.spec?.kind).toBe('hash');
    // A hash map cannot be atomic from userspace: refused with the map's own code and one sentence.
    await expect(table?.fetchAdd(0, 1n)).rejects.toMatchObject({ code: 'MAP_NOT_ATOMIC', message: expect.not.stringContaining('\n') });
    // The tracker falls back to get and set on such a map (positive control of the refusal's code).
    const fallback = new ScanTracker(asDataMap(table as NonNullable<typeof table>), 2);
    await fallback.scanStarted(0);
    expect(await table?.get(0)).toBeGreaterThanOrEqual(1n);

    // The target exits: the daemon removes the deployment and both clients hear it.
    const mineEnded = nextEvent(mine, 'undeployed', 1000);
    const theirsEnded = nextEvent(theirs, 'undeployed', 1000);
    const killedAt = Date.now();
    server.child.kill('SIGKILL');
    expect(await mineEnded).toBe('target-exited');
    expect(await theirsEnded).toBe('target-exited');
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect((await first.deployments()).map((d) => d.id)).toEqual([qos.id]);

    // An undeploy by one client ends the other's handle too, once.
    const qosTheirs = await second.deployment(qos.id);
    const reasons: unknown[] = [];
    qosTheirs.on('undeployed', (reason) => reasons.push(reason));
    const qosEnded = nextEvent(qosTheirs, 'undeployed', 1000);
    await qos.undeploy();
    expect(await qosEnded).toBe('undeployed');
    await new Promise((r) => setTimeout(r, 100));
    expect(reasons).toEqual(['undeployed']);
  });
});
