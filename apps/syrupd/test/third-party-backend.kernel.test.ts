import { createSocket } from 'node:dgram';
import { chmodSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type SyrupClient } from '@syrup/runtime';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { provideRepoAccess, type RepoAccess } from './support/repo-access.js';
import { daemonFiles, runDaemon, type DaemonFiles, type DaemonRun } from './support/restartable-daemon.js';
import { startTenantClient, startTenantServer, type TenantAnswer, type TenantClient, type TenantServer } from './support/tenant-process.js';
import { createTenantUser, type TenantUser } from './support/tenant-user.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The third-party backend: a package outside packages/, loaded by its directory path. */
const WORK_QUEUE_PACKAGE = join(REPO, 'examples/backends/work-queue');
const SPREAD_JOBS = 'examples/backends/work-queue/policies/spread-jobs.ts';
const COUNT_AND_MIRROR = 'apps/syrupd/test/fixtures/count-and-mirror.ts';
const BACKENDS = ['--backend', '@syrup/backend-ebpf', '--backend', WORK_QUEUE_PACKAGE];

/** Sends `count` datagrams to 127.0.0.1:`port` and waits until they are sent. */
async function sendDatagrams(port: number, count: number): Promise<void> {
  const socket = createSocket('udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((done, fail) => socket.send(Buffer.from([i]), port, '127.0.0.1', (e) => (e ? fail(e) : done())));
  socket.close();
}

/** One job on a deployment's job socket (the example backend's data path inside syrupd), as its owner's application sends it. */
async function submitJob(socketPath: string, job: Record<string, unknown> = { payload: '' }): Promise<unknown> {
  const socket = createConnection(socketPath);
  const answer = new Promise<unknown>((done) => createInterface({ input: socket }).once('line', (line) => done(JSON.parse(line))));
  socket.write(`${JSON.stringify(job)}\n`);
  try {
    return await answer;
  } finally {
    socket.destroy();
  }
}

function ok(answer: TenantAnswer): unknown {
  if (!answer.ok) throw new Error(`${answer.code}: ${answer.message}`);
  return answer.result;
}

describeKernel('a third-party backend loaded by syrupd (examples/backends/work-queue)', { needs: ['root', 'bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  let access: RepoAccess;
  let files: DaemonFiles;
  let daemon: DaemonRun;
  let root: SyrupClient;
  let alice: TenantUser;
  let bob: TenantUser;
  let aliceClient: TenantClient;
  let bobClient: TenantClient;
  let aliceServer: TenantServer;
  const later = (step: () => unknown): void => void cleanup.push(step);
  const jobSocket = (id: string): string => join(files.stateDir, id, 'jobs.sock');
  const seen = async (id: string, key: number): Promise<bigint> => (await root.deployment(id)).maps['seen']!.get(key) as Promise<bigint>;

  beforeAll(async () => {
    access = provideRepoAccess(REPO);
    later(() => access.release());
    files = daemonFiles();
    later(() => files.remove());
    // The tenants reach syrupd's socket in it (the state and pin roots below stay root's).
    chmodSync(files.dir, 0o755);
    daemon = await runDaemon(files, BACKENDS);
    later(() => daemon.kill('SIGTERM'));
    root = await connect({ socketPath: files.socketPath });
    later(() => root.close());
    alice = createTenantUser('syrup-wq-a');
    later(() => alice.remove());
    bob = createTenantUser('syrup-wq-b');
    later(() => bob.remove());
    aliceClient = await startTenantClient(alice, { repo: access.root, socketPath: files.socketPath });
    later(() => aliceClient.kill());
    bobClient = await startTenantClient(bob, { repo: access.root, socketPath: files.socketPath });
    later(() => bobClient.kill());
    aliceServer = await startTenantServer(alice, { repo: access.root, address: '127.0.0.1', ports: [0], count: 2 });
    later(() => aliceServer.kill());
  }, 120_000);

  afterAll(async () => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep cleaning up.
      }
    }
  });

  it('is listed by the hooks op with its layer, target fields and availability', async () => {
    const hooks = await root.hooks();
    expect(hooks.find((h) => h.hook === 'work-queue')).toMatchObject({
      hook: 'work-queue',
      backend: 'work-queue',
      available: true,
      layer: 'userspace job queues (example backend)',
      targetFields: ['queueName', 'workers'],
    });
    expect(hooks.find((h) => h.hook === 'socket-select')).toMatchObject({ backend: 'ebpf', available: true });
  });

  it('shares a data map with a socket-select deployment of the same tenant, socket-select deployed first', async () => {
    const port = aliceServer.ports[0] as number;
    const select = ok(await aliceClient.run({ op: 'deploy', policy: COUNT_AND_MIRROR, options: { hook: 'socket-select', port, pid: aliceServer.pid, shareMaps: ['seen'] } })) as { id: string };
    const queue = ok(await aliceClient.run({ op: 'deploy', policy: SPREAD_JOBS, options: { hook: 'work-queue', extra: { queueName: 'orders', workers: 3 }, params: { WORKERS: 3 }, shareMaps: ['seen'] } })) as { id: string };
    await sendDatagrams(port, 4);
    await expect.poll(() => seen(select.id, 0)).toBe(4n);
    // Counted in the kernel, read in syrupd: 4 datagrams send the job to queue 4 % 3.
    expect(await submitJob(jobSocket(queue.id))).toEqual({ queue: 1 });
    // Counted in syrupd, read in the kernel: the next datagram copies seen[1] into seen[2].
    await sendDatagrams(port, 1);
    await expect.poll(() => seen(select.id, 2)).toBe(1n);
    expect(await seen(queue.id, 0)).toBe(5n);
    // The job socket is the tenant's alone.
    expect(statSync(jobSocket(queue.id))).toMatchObject({ uid: alice.uid, mode: 0o140600 });
    for (const id of [queue.id, select.id]) ok(await aliceClient.run({ op: 'undeploy', id }));
  }, 60_000);

  it('refuses the queue name to another tenant while its owner holds it, and serves each owner its own (then, deployed first, shares the map as well)', async () => {
    const port = aliceServer.ports[0] as number;
    // The other order: the userspace deployment comes first, and still gets the map the kernel hook will use.
    const queue = ok(await aliceClient.run({ op: 'deploy', policy: SPREAD_JOBS, options: { hook: 'work-queue', extra: { queueName: 'orders', workers: 3 }, params: { WORKERS: 3 }, shareMaps: ['seen'] } })) as { id: string };
    const select = ok(await aliceClient.run({ op: 'deploy', policy: COUNT_AND_MIRROR, options: { hook: 'socket-select', port, pid: aliceServer.pid, shareMaps: ['seen'] } })) as { id: string };
    expect(await submitJob(jobSocket(queue.id))).toEqual({ queue: 0 });
    await sendDatagrams(port, 2);
    await expect.poll(() => seen(select.id, 2)).toBe(1n);
    expect(await submitJob(jobSocket(queue.id))).toEqual({ queue: 2 });

    const refused = await bobClient.run({ op: 'deploy', policy: SPREAD_JOBS, options: { hook: 'work-queue', extra: { queueName: 'orders', workers: 2 } } });
    expect(refused).toEqual({ ok: false, code: 'TARGET_TAKEN', message: `job queue 'orders' is served by a policy of uid ${alice.uid}, so uid ${bob.uid} may not deploy on it.` });
    // Positive controls: each owner keeps its own queue.
    const billing = ok(await bobClient.run({ op: 'deploy', policy: SPREAD_JOBS, options: { hook: 'work-queue', extra: { queueName: 'billing', workers: 2 }, params: { WORKERS: 2 } } })) as { id: string };
    expect(await submitJob(jobSocket(billing.id))).toEqual({ queue: 0 });
    expect(statSync(jobSocket(billing.id))).toMatchObject({ uid: bob.uid, mode: 0o140600 });
    expect((await aliceClient.run({ op: 'map.get', id: billing.id, map: 'seen', key: 1 })).ok).toBe(false);
    expect(ok(await bobClient.run({ op: 'map.get', id: billing.id, map: 'seen', key: 1 }))).toBe('1');

    // SIGKILL, then a restart: every deployment comes back under its id, the job sockets open again, the map is still shared.
    await daemon.kill('SIGKILL');
    daemon = await runDaemon(files, BACKENDS);
    root.close();
    root = await connect({ socketPath: files.socketPath });
    expect((await root.deployments()).map((d) => d.id).sort()).toEqual([queue.id, select.id, billing.id].sort());
    // seen[0] is 2 datagrams: the third job goes to queue 2 again, and is counted in seen[1] as the third.
    expect(await submitJob(jobSocket(queue.id))).toEqual({ queue: 2 });
    await sendDatagrams(port, 1);
    await expect.poll(() => seen(select.id, 2)).toBe(3n);
    expect(await submitJob(jobSocket(billing.id))).toEqual({ queue: 0 });
    expect(await seen(billing.id, 1)).toBe(2n);
    // The claim survived the restart too (the tenants' clients reconnect: their connections died with the daemon).
    bobClient.kill();
    bobClient = await startTenantClient(bob, { repo: access.root, socketPath: files.socketPath });
    later(() => bobClient.kill());
    const again = await bobClient.run({ op: 'deploy', policy: SPREAD_JOBS, options: { hook: 'work-queue', extra: { queueName: 'orders', workers: 2 } } });
    expect(again).toMatchObject({ ok: false, code: 'TARGET_TAKEN' });
    for (const id of [queue.id, select.id, billing.id]) await root.deployment(id).then((d) => d.undeploy());
    expect(await root.deployments()).toEqual([]);
  }, 120_000);
});
