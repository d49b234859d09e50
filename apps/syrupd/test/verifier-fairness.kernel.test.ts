// Issue #15: "a verifier-bound policy blocks every client for 7-9 s per attempt". Tenant B
// deploys a policy the verifier works on for seconds and then refuses (fixtures/branchy-offsets.ts);
// while the kernel verifies it on one of the daemon's pool threads, tenant A's status and list
// requests, and a deploy of its own, are all answered: before B's deploy has an answer.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type SyrupClient } from '@syrup/runtime';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { startDaemonChild, type DaemonChild } from './support/daemon.js';
import { provideRepoAccess, type RepoAccess } from './support/repo-access.js';
import { startTenantClient, startTenantServer, type TenantAnswer, type TenantClient, type TenantServer } from './support/tenant-process.js';
import { createTenantUser, type TenantUser } from './support/tenant-user.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../../..');
const BRANCHY = 'apps/syrupd/test/fixtures/branchy-offsets.ts';
const ROUND_ROBIN = 'packages/policies-std/src/round-robin.ts';
/** System time (clock ticks, 100 a second) a pool thread spends before the test calls the verifier busy: a second. */
const VERIFYING_TICKS = 100;

interface Tenant {
  readonly user: TenantUser;
  readonly group: TenantServer;
  readonly client: TenantClient;
}

/** System time of each thread of `pid` but its main one (whose id is `pid`), in clock ticks, by thread id. */
function poolThreadSystemTicks(pid: number): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (Number(tid) === pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the command name's closing parenthesis start at field 3 (state); stime is field 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(tid), Number(fields[12]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ticks;
}

function succeeded(answer: TenantAnswer): unknown {
  if (!answer.ok) throw new Error(`expected success, got ${answer.code}: ${answer.message}`);
  return answer.result;
}

describeKernel("syrupd keeps serving tenant A while the verifier works on tenant B's policy", { needs: ['root', 'bpf'] }, () => {
  const cleanup: { name: string; step: () => unknown }[] = [];
  let access: RepoAccess;
  let daemon: DaemonChild;
  let root: SyrupClient;
  let daemonPid: number;
  const tenants: Tenant[] = [];

  beforeAll(async () => {
    const later = (name: string, step: () => unknown) => cleanup.push({ name, step });
    access = provideRepoAccess(REPO);
    later('repository access', () => access.release());
    daemon = await startDaemonChild({ dirMode: 0o755 });
    later('daemon', () => daemon.stop());
    root = await connect({ socketPath: daemon.socketPath });
    later('root client', () => root.close());
    daemonPid = (await root.status()).pid;
    for (const name of ['a', 'b']) {
      const user = createTenantUser(`syrv${name}`);
      later(`user ${name}`, () => user.remove());
      const group = await startTenantServer(user, { repo: access.root, address: '127.0.0.1', ports: [0], count: 2 });
      later(`${name}'s group`, () => group.kill());
      const client = await startTenantClient(user, { repo: access.root, socketPath: daemon.socketPath });
      later(`${name}'s client`, () => client.kill());
      tenants.push({ user, group, client });
    }
  }, 180_000);

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

  it("answers A's status, list and deploy while B's policy is in the verifier on a pool thread, and B then gets the verifier's refusal", async () => {
    const [a, b] = tenants as [Tenant, Tenant];
    const before = poolThreadSystemTicks(daemonPid);
    let bSettled = false;
    const bDeploy = b.client.run({ op: 'deploy', policy: BRANCHY, options: { hook: 'socket-select', port: b.group.ports[0], pid: b.group.pid } });
    void bDeploy.finally(() => (bSettled = true));

    // The verifier runs in the kernel, as system time of the thread that called bpf(): wait until
    // one thread other than the event loop's has spent a second there.
    let verifier: number | undefined;
    const deadline = Date.now() + 60_000;
    while (verifier === undefined && !bSettled && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      for (const [tid, ticks] of poolThreadSystemTicks(daemonPid)) {
        if (ticks - (before.get(tid) ?? 0) >= VERIFYING_TICKS) verifier = tid;
      }
    }
    expect(bSettled, 'B\'s deploy ended before any pool thread verified for a second').toBe(false);
    expect(verifier, 'no thread but the event loop\'s spent a second in the kernel').toBeDefined();

    // A, meanwhile: five rounds of status and list, then a deploy on its own group.
    const answers: unknown[] = [];
    for (let round = 0; round < 5; round++) {
      answers.push(succeeded(await a.client.run({ op: 'status' })));
      answers.push(succeeded(await a.client.run({ op: 'list' })));
    }
    const aDeploy = succeeded(await a.client.run({ op: 'deploy', policy: ROUND_ROBIN, options: { hook: 'socket-select', port: a.group.ports[0], params: { SOCKETS: 2 } } })) as { id: string };
    const aDone = bSettled;
    expect(aDone, "B's deploy had its answer before A's requests had theirs").toBe(false);
    expect(answers).toHaveLength(10);
    expect(answers[0]).toEqual({ pid: daemonPid });
    expect(answers[1]).toEqual([]);

    const refusal = await bDeploy;
    expect(refusal.ok).toBe(false);
    if (!refusal.ok) {
      // Core's deployment names the policy and the hook around the verifier's own sentence, which points at the policy's line.
      expect(refusal.code).toBe('DEPLOY_FAILED');
      expect(refusal.message).toMatch(
        /^deploying policy 'branchy-offsets' at hook 'socket-select' failed: program 'branchy_offsets' was rejected by the verifier at instruction \d+ .* from (?:\S+\/)?branchy-offsets\.ts:27:\d+: BPF program is too large\. Processed 1000001 insn\.$/,
      );
    }
    // A's deployment runs; B has none (nothing half-attached stays behind).
    const all = await root.deployments();
    expect(all.map((d) => [d.id, d.owner])).toEqual([[aDeploy.id, a.user.uid]]);
  }, 180_000);
});
