// Two tenants, as two unprivileged uids made for this run, share one syrupd (run as root on a
// temp socket and a temp pin root). Each runs an unmodified UDP server and a client that
// deploys on its own ports; every cross-tenant attempt is refused with its reason while the
// owner's same action succeeds, and what root sees before and after the attempts is identical.
import { readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, MAX_REQUEST_BYTES, type SyrupClient } from '@syrup/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { startDaemonChild, type DaemonChild } from './support/daemon.js';
import { pinnedFiles, takeSnapshot, type IsolationSnapshot } from './support/isolation-snapshot.js';
import { provideRepoAccess, repoAccessPlan, type RepoAccess } from './support/repo-access.js';
import { objGetAs, startTenantClient, startTenantServer, type TenantAnswer, type TenantClient, type TenantServer } from './support/tenant-process.js';
import { createTenantUser, type TenantUser } from './support/tenant-user.js';
import { createVethNamespaces, sendFrom, type VethNamespaces } from './support/veth-namespaces.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../../..');
const ROUND_ROBIN = 'packages/policies-std/src/round-robin.ts';
const COUNT_UDP = 'apps/syrupd/test/fixtures/count-udp.ts';
const SOCKETS = 2;

describe('how tenants reach the repository', () => {
  const modes = (table: Record<string, number>) => (path: string) => {
    const mode = table[path];
    if (mode === undefined) throw new Error(`no mode for ${path}`);
    return mode;
  };

  it('uses a checkout directly when every directory above it is searchable by others (as /work/main)', () => {
    expect(repoAccessPlan('/work/main', modes({ '/work/main': 0o40755, '/work': 0o40755, '/': 0o40755 }))).toEqual({ kind: 'direct' });
  });

  it('bind-mounts a checkout under a closed directory (as /root is), or one that is itself closed', () => {
    expect(repoAccessPlan('/root/syrup', modes({ '/root/syrup': 0o40755, '/root': 0o40700, '/': 0o40755 }))).toEqual({ kind: 'bind-mount', blockedAt: '/root' });
    expect(repoAccessPlan('/srv/syrup', modes({ '/srv/syrup': 0o40750, '/srv': 0o40755, '/': 0o40755 }))).toEqual({ kind: 'bind-mount', blockedAt: '/srv/syrup' });
  });
});

/** One tenant: its uid, its servers (a loopback group for socket-select; two ports in the XDP namespace) and its client. */
interface Tenant {
  readonly name: 'A' | 'B';
  readonly user: TenantUser;
  /** SOCKETS reuseport sockets on one 127.0.0.1 port, in the daemon's namespace. */
  group: TenantServer;
  /** One socket on each of two ports in the XDP namespace: ports[0] gets routed, ports[1] stays spare. */
  xdpServer: TenantServer;
  client: TenantClient;
  /** Its socket-select and xdp-skb deployments. */
  selectId: string;
  xdpId: string;
}

function refused(answer: TenantAnswer): { code: string; message: string } {
  if (answer.ok) throw new Error(`expected a refusal, got ${JSON.stringify(answer.result)}`);
  return { code: answer.code, message: answer.message };
}

function succeeded(answer: TenantAnswer): unknown {
  if (!answer.ok) throw new Error(`expected success, got ${answer.code}: ${answer.message}`);
  return answer.result;
}

/** A raw wire request line, as a forged client would send it. */
function wire(request: Record<string, unknown>): { op: 'wire'; line: string } {
  return { op: 'wire', line: JSON.stringify({ v: 1, id: 1, ...request }) };
}

describeKernel('syrupd isolation between two tenant uids', { needs: ['root', 'bpf', 'bpffs', 'netns', 'xdp-skb', 'af-xdp'] }, () => {
  const cleanup: { name: string; step: () => unknown }[] = [];
  let access: RepoAccess;
  let net: VethNamespaces;
  let daemon: DaemonChild;
  let root: SyrupClient;
  let daemonPid: number;
  const pinRoot = `/sys/fs/bpf/syrup-iso-${randomBytes(4).toString('hex')}`;
  const tenants: Tenant[] = [];
  const policyText = (path: string) => ({ fileName: path.split('/').at(-1) as string, text: readFileSync(join(REPO, path), 'utf8') });
  const xdpTarget = (port: number, extra: Record<string, unknown> = {}) => ({ hook: 'xdp-skb', interface: net.ifA, port, extra: { netns: net.nsA, ...extra } });
  const snapshot = (): Promise<IsolationSnapshot> => takeSnapshot(root, { pinRoot, daemonPid, netns: net.nsA, ifname: net.ifA });

  beforeAll(async () => {
    const later = (name: string, step: () => unknown) => cleanup.push({ name, step });
    access = provideRepoAccess(REPO);
    later('repository access', () => access.release());
    net = createVethNamespaces({ prefix: 'syrup-iso', subnet: '10.198.0' });
    later('namespaces', () => net.remove());
    later('pin root', () => rmSync(pinRoot, { recursive: true, force: true }));
    // The socket is 0666 (the daemon's default); its directory must be searchable by the tenants too.
    daemon = await startDaemonChild({ pinRoot, dirMode: 0o755 });
    later('daemon', () => daemon.stop());
    root = await connect({ socketPath: daemon.socketPath });
    later('root client', () => root.close());
    daemonPid = (await root.status()).pid;

    for (const name of ['A', 'B'] as const) {
      const user = createTenantUser(`syrt${name.toLowerCase()}`);
      later(`user ${name}`, () => user.remove());
      const group = await startTenantServer(user, { repo: access.root, address: '127.0.0.1', ports: [0], count: SOCKETS });
      later(`${name}'s group`, () => group.kill());
      const xdpServer = await startTenantServer(user, { repo: access.root, address: '0.0.0.0', ports: [0, 0], count: 1, netns: net.nsA });
      later(`${name}'s XDP server`, () => xdpServer.kill());
      const client = await startTenantClient(user, { repo: access.root, socketPath: daemon.socketPath });
      later(`${name}'s client`, () => client.kill());
      tenants.push({ name, user, group, xdpServer, client, selectId: '', xdpId: '' });
    }
    const [a, b] = tenants as [Tenant, Tenant];
    // A names its group by port alone (the daemon finds the process); B names its process.
    a.selectId = (succeeded(await a.client.run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: a.group.ports[0], params: { SOCKETS } } })) as { id: string }).id;
    b.selectId = (succeeded(await b.client.run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: b.group.ports[0], pid: b.group.pid, params: { SOCKETS } } })) as { id: string }).id;
    for (const t of tenants) {
      t.xdpId = (succeeded(await t.client.run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(t.xdpServer.ports[0] as number) })) as { id: string }).id;
    }
  }, 240_000);

  afterAll(async () => {
    const failures: string[] = [];
    for (const { name, step } of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  }, 60_000);

  it('runs each tenant as its own uid, and each deployment is its owner\'s, listed only to it and root', async () => {
    const [a, b] = tenants as [Tenant, Tenant];
    expect(a.user.uid).not.toBe(b.user.uid);
    const all = await root.deployments();
    expect(all.map((d) => [d.id, d.owner]).sort()).toEqual(
      [
        [a.selectId, a.user.uid],
        [a.xdpId, a.user.uid],
        [b.selectId, b.user.uid],
        [b.xdpId, b.user.uid],
      ].sort(),
    );
    // Found by port, A's target process is pinned into the deployment.
    expect(all.find((d) => d.id === a.selectId)?.target).toEqual({ port: a.group.ports[0], pid: a.group.pid });
    for (const t of tenants) expect((succeeded(await t.client.run({ op: 'list' })) as string[]).sort()).toEqual([t.selectId, t.xdpId].sort());
  });

  it('refuses every cross-tenant attempt with its reason, and root sees the same deployments, maps, pins and programs after', async () => {
    const before = await snapshot();
    expect(before.deployments).toHaveLength(4);
    expect(before.daemonObjects.progs.length).toBeGreaterThan(0);
    expect(before.xdpProgIds).toHaveLength(1);

    for (const [me, other] of [tenants, [...tenants].reverse()] as [Tenant, Tenant][]) {
      const run = (command: { op: string } & Record<string, unknown>) => me.client.run(command);
      const mine = me.user.uid;
      const them = other.user.uid;
      const otherPort = other.group.ports[0] as number;
      // socket-select on the other's port: by port alone, with the other's pid, with my own pid.
      expect(refused(await run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: otherPort, params: { SOCKETS } } }))).toEqual({
        code: 'NOT_OWNER',
        message: `port ${otherPort} is bound by uid ${them}, not by uid ${mine}.`,
      });
      expect(refused(await run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: otherPort, pid: other.group.pid, params: { SOCKETS } } }))).toEqual({
        code: 'NOT_OWNER',
        message: `process ${other.group.pid} belongs to uid ${them}, so uid ${mine} may not deploy on its sockets.`,
      });
      expect(refused(await run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: otherPort, pid: me.group.pid, params: { SOCKETS } } }))).toEqual({
        code: 'NOT_OWNER',
        message: `process ${me.group.pid} holds none of the sockets on udp port ${otherPort} (uid ${them} bound them), so the group there is not its.`,
      });
      // xdp-skb on the other's routed port, and on a port the other bound but never routed.
      const where = `'${net.ifA}' in network namespace '${net.nsA}'`;
      expect(refused(await run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(other.xdpServer.ports[0] as number) }))).toEqual({
        code: 'TARGET_TAKEN',
        message: `UDP port ${other.xdpServer.ports[0]} on ${where} is already routed to a policy of uid ${them}, so uid ${mine} may not route it.`,
      });
      expect(refused(await run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(other.xdpServer.ports[1] as number) }))).toEqual({
        code: 'NOT_OWNER',
        message: `UDP port ${other.xdpServer.ports[1]} on ${where} is bound by uid ${them}, not by uid ${mine}.`,
      });
      // AF_XDP executors named by process (the CLI's --target xskPid=P): on my own spare port, the other's process.
      expect(refused(await run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(me.xdpServer.ports[1] as number, { xskPid: other.xdpServer.pid }) }))).toEqual({
        code: 'NOT_OWNER',
        message: `process ${other.xdpServer.pid} belongs to uid ${them}, so uid ${mine} may not use its AF_XDP sockets.`,
      });
      // The other's deployments, through forged wire requests (the client API does not even list them).
      expect(refused(await run({ op: 'map.get', id: other.selectId, map: 'next', key: 0 }))).toMatchObject({ code: 'DEPLOYMENT_NOT_FOUND', message: expect.stringContaining(`no deployment has id '${other.selectId}'`) });
      for (const [id, map, policy] of [
        [other.selectId, 'next', ROUND_ROBIN],
        [other.xdpId, 'seen', COUNT_UDP],
      ] as const) {
        for (const [op, extra, verb] of [
          ['replace', { policy: policyText(policy) }, 'replace'],
          ['undeploy', {}, 'undeploy'],
          ['map.get', { map, key: 0 }, 'use the maps of'],
          ['map.set', { map, key: 0, value: '12345' }, 'use the maps of'],
          ['map.dump', { map }, 'use the maps of'],
        ] as const) {
          const answer = succeeded(await run(wire({ op, deployment: id, ...extra })));
          expect(answer, `${me.name} ${op} ${id}`).toEqual({
            v: 1,
            id: 1,
            ok: false,
            error: { code: 'NOT_OWNER', message: `deployment '${id}' belongs to uid ${them}, so uid ${mine} may not ${verb} it.` },
          });
        }
      }
      // Malformed and oversized requests: refused with a reason, and the same connection still serves.
      expect(succeeded(await run({ op: 'wire', line: '{nope' }))).toMatchObject({ ok: false, error: { code: 'PROTOCOL_MALFORMED', message: 'the request is not valid JSON.' } });
      expect(succeeded(await run(wire({ v: 2, op: 'list' })))).toMatchObject({ ok: false, error: { code: 'PROTOCOL_VERSION' } });
      expect(succeeded(await run(wire({ op: 'deploy', hook: 'socket-select', policy: { fileName: 'x.ts' }, target: {} })))).toMatchObject({
        ok: false,
        error: { code: 'PROTOCOL_MALFORMED', message: expect.stringMatching(/^field 'policy.text' is invalid: /) },
      });
      expect(succeeded(await run({ op: 'wire-bytes', bytes: MAX_REQUEST_BYTES + 1 }))).toEqual({
        v: 1,
        id: null,
        ok: false,
        error: { code: 'PROTOCOL_TOO_LARGE', message: `the request is larger than the limit of ${MAX_REQUEST_BYTES} bytes.` },
      });
      expect(succeeded(await run(wire({ op: 'list' })))).toMatchObject({ ok: true, result: [expect.anything(), expect.anything()] });
      // bpffs: BPF_OBJ_GET of every pinned object that is not mine is refused (the bpffs test has the owners' side).
      const foreign = pinnedFiles(pinRoot).filter((f) => f.uid !== mine);
      const opened = objGetAs(me.user, access.root, foreign.map((f) => f.path));
      for (const f of foreign) expect(opened[f.path], f.path).toEqual({ read: 'EACCES', readWrite: 'EACCES' });
    }

    const after = await snapshot();
    expect(after).toEqual(before);
  }, 120_000);

  it('lets each owner do the same actions: read, write and dump its maps, replace, undeploy, deploy by port and by pid', async () => {
    for (const t of tenants) {
      const run = (command: { op: string } & Record<string, unknown>) => t.client.run(command);
      for (const [id, map, policy] of [
        [t.selectId, 'next', ROUND_ROBIN],
        [t.xdpId, 'seen', COUNT_UDP],
      ] as const) {
        expect(succeeded(await run(wire({ op: 'map.get', deployment: id, map, key: 0 })))).toEqual({ v: 1, id: 1, ok: true, result: { value: '0' } });
        expect(succeeded(await run(wire({ op: 'map.dump', deployment: id, map })))).toEqual({ v: 1, id: 1, ok: true, result: [[0, '0']] });
        expect(succeeded(await run(wire({ op: 'replace', deployment: id, policy: policyText(policy) })))).toMatchObject({ ok: true, result: { id, owner: t.user.uid } });
      }
      // Writes land (and are set back, so the counters start from 0 for the traffic test).
      expect(succeeded(await run({ op: 'map.set', id: t.selectId, map: 'next', key: 0, value: '7' }))).toEqual({ set: true });
      expect(await (await root.deployment(t.selectId)).maps['next']?.get(0)).toBe(7n);
      succeeded(await run({ op: 'map.set', id: t.selectId, map: 'next', key: 0, value: '0' }));
      // The refused deploy forms, by their owner: A deployed by port alone first, so now by pid; B the other way round.
      expect(succeeded(await run({ op: 'undeploy', id: t.selectId }))).toEqual({ undeployed: t.selectId });
      const port = t.group.ports[0] as number;
      const options = t.name === 'A' ? { hook: 'socket-select', port, pid: t.group.pid, params: { SOCKETS } } : { hook: 'socket-select', port, params: { SOCKETS } };
      t.selectId = (succeeded(await run({ op: 'deploy', policy: ROUND_ROBIN, options })) as { id: string }).id;
      // The spare port the other tenant was refused: its owner routes it (sharing the dispatcher), then gives it back.
      const spare = succeeded(await run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(t.xdpServer.ports[1] as number) })) as { id: string };
      expect(succeeded(await run({ op: 'undeploy', id: spare.id }))).toEqual({ undeployed: spare.id });
    }
    expect((await root.deployments()).length).toBe(4);
  });

  it("counts at the XDP hook: tenant A's policy never runs on tenant B's traffic, and the reverse", async () => {
    const seen = async (t: Tenant): Promise<bigint> => (await (await root.deployment(t.xdpId)).maps['seen']?.get(0)) as bigint;
    const COUNT = 20;
    for (const [sender, bystander] of [tenants, [...tenants].reverse()] as [Tenant, Tenant][]) {
      const port = sender.xdpServer.ports[0] as number;
      const start = { sender: await seen(sender), bystander: await seen(bystander), received: (await sender.xdpServer.received())[String(port)] ?? 0 };
      sendFrom(net.nsB, net.ipA, port, COUNT);
      // Wait for the datagrams to arrive at the server (the policies PASS them): no timing assertion, only a bound on the wait.
      const deadline = Date.now() + 15_000;
      while (((await sender.xdpServer.received())[String(port)] ?? 0) < start.received + COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect((await sender.xdpServer.received())[String(port)]).toBe(start.received + COUNT);
      expect(await seen(sender)).toBe(start.sender + BigInt(COUNT));
      expect(await seen(bystander)).toBe(start.bystander);
    }
  });

  it('gives AF_XDP executors on a queue to one tenant; PASS/DROP policies of the other still share the dispatcher', async () => {
    const [a, b] = tenants as [Tenant, Tenant];
    const spareA = a.xdpServer.ports[1] as number;
    const spareB = b.xdpServer.ports[1] as number;
    const xsk = succeeded(await a.client.run({ op: 'deploy', policy: COUNT_UDP, options: { ...xdpTarget(spareA, { xskCount: 1 }), queue: 0 } })) as { id: string };
    try {
      expect(refused(await b.client.run({ op: 'deploy', policy: COUNT_UDP, options: { ...xdpTarget(spareB, { xskCount: 1 }), queue: 0 } }))).toEqual({
        code: 'TARGET_TAKEN',
        message: `queue 0 of '${net.ifA}' in network namespace '${net.nsA}' already has AF_XDP executors of uid ${a.user.uid}, and one queue serves one tenant's AF_XDP executors (one UMEM), so uid ${b.user.uid} may not add its own there.`,
      });
      const pass = succeeded(await b.client.run({ op: 'deploy', policy: COUNT_UDP, options: xdpTarget(spareB) })) as { id: string };
      succeeded(await b.client.run({ op: 'undeploy', id: pass.id }));
    } finally {
      succeeded(await a.client.run({ op: 'undeploy', id: xsk.id }));
    }
    // Once A's executors are gone the queue is free: B's same request succeeds.
    const mine = succeeded(await b.client.run({ op: 'deploy', policy: COUNT_UDP, options: { ...xdpTarget(spareB, { xskCount: 1 }), queue: 0 } })) as { id: string };
    succeeded(await b.client.run({ op: 'undeploy', id: mine.id }));
  });

  it("refuses a hook no loaded backend provides, before looking at the target: \"no backend provides hook 'work-queue'\"", async () => {
    const [a] = tenants as [Tenant];
    expect(refused(await a.client.run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'work-queue', pid: a.group.pid } })).message).toContain("no backend provides hook 'work-queue'");
  });

  it('pinned objects under the pin root: a tenant opens (BPF_OBJ_GET) only its own data-map files', async (context) => {
    const files = pinnedFiles(pinRoot);
    // Pins arrive with persistence; until the daemon pins, there is nothing to open and nothing to claim.
    context.skip(files.length === 0, `no pins under ${pinRoot}: this syrupd does not pin yet, so bpffs isolation is not exercised`);
    for (const t of tenants) {
      // The positive control is never vacuous: each tenant's socket-select data map is pinned as its own.
      expect(files.filter((f) => f.uid === t.user.uid).length, `pins of uid ${t.user.uid}`).toBeGreaterThan(0);
      const opened = objGetAs(t.user, access.root, files.map((f) => f.path));
      for (const f of files) {
        if (f.uid === t.user.uid) {
          expect(f.mode, f.path).toBe(0o600);
          expect(opened[f.path], f.path).toEqual({ read: 'ok', readWrite: 'ok' });
        } else {
          expect(opened[f.path], f.path).toEqual({ read: 'EACCES', readWrite: 'EACCES' });
        }
      }
    }
  });

  it("bpffs at the XDP hooks: each tenant opens its own XDP deployment's 'seen' map pin and not the other's; the dispatcher's pins are root's alone", async () => {
    const [a, b] = tenants as [Tenant, Tenant];
    const seenOf = (t: Tenant): string => join(pinRoot, t.xdpId, 'maps/seen');
    // One dispatcher for the interface, shared by both tenants' deployments: its link, program and maps are root's, 0600.
    const dispatcherPins = pinnedFiles(join(pinRoot, 'shared'));
    expect(dispatcherPins.map((f) => f.path.split('/').at(-1)).sort()).toEqual(['link', 'policies', 'prog', 'routes']);
    for (const f of dispatcherPins) expect(f, f.path).toMatchObject({ uid: 0, mode: 0o600 });
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      expect(pinnedFiles(join(pinRoot, me.xdpId)).find((f) => f.path === seenOf(me))).toEqual({ path: seenOf(me), uid: me.user.uid, mode: 0o600 });
      const opened = objGetAs(me.user, access.root, [seenOf(me), seenOf(other), join(pinRoot, other.xdpId, 'prog'), ...dispatcherPins.map((f) => f.path)]);
      // Positive control first: the owner opens its own map, read-only and read-write.
      expect(opened[seenOf(me)], `${me.name} opens its own`).toEqual({ read: 'ok', readWrite: 'ok' });
      expect(opened[seenOf(other)], `${me.name} opens ${other.name}'s`).toEqual({ read: 'EACCES', readWrite: 'EACCES' });
      expect(opened[join(pinRoot, other.xdpId, 'prog')]).toEqual({ read: 'EACCES', readWrite: 'EACCES' });
      for (const f of dispatcherPins) expect(opened[f.path], f.path).toEqual({ read: 'EACCES', readWrite: 'EACCES' });
    }
  });
});

describeKernel('repository access through a bind mount', { needs: ['root'] }, () => {
  it('makes a checkout under a closed directory readable by another uid, and unmounts it again', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, chmodSync, existsSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const closed = mkdtempSync(join(tmpdir(), 'syrup-closed-'));
    const user = createTenantUser('syrtr');
    try {
      chmodSync(closed, 0o700);
      const checkout = join(closed, 'repo');
      mkdirSync(checkout, { mode: 0o755 });
      writeFileSync(join(checkout, 'README.md'), 'readable\n', { mode: 0o644 });
      const readAs = (path: string): string => {
        try {
          return execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'cat', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        } catch {
          return 'refused';
        }
      };
      expect(readAs(join(checkout, 'README.md'))).toBe('refused');
      const access = provideRepoAccess(checkout);
      try {
        expect(access.plan).toEqual({ kind: 'bind-mount', blockedAt: closed });
        expect(readAs(join(access.root, 'README.md'))).toBe('readable\n');
      } finally {
        access.release();
      }
      expect(existsSync(access.root)).toBe(false);
    } finally {
      user.remove();
      rmSync(closed, { recursive: true, force: true });
    }
  });
});
