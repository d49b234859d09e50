// A map shared by name between a kernel hook (socket-select, an eBPF program) and a userspace
// hook (a tiny backend defined here that runs the policy with core's PolicyEvaluator): the
// runtime makes the shared map a kernel map whichever deploys first, a value written at one
// hook is read at the other, and the sharing survives a restart of the runtime.
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { KernelDataMapStore } from '@syrup/backend-ebpf/maps';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '@syrup/backend-ebpf/pin';
import {
  Backend,
  PolicyEvaluator,
  registerHookRegistry,
  RestoreError,
  OwnershipError,
  processClaim,
  requireProcessOwner,
  type Artifact,
  type Authorization,
  type AuthorizeRequest,
  type AttachRequest,
  type Attachment,
  type CompileRequest,
  type HookProbe,
  type HookSpec,
  type ManagedDeployment,
  type PersistedAttachment,
  type PersistenceLocation,
  type PolicyIr,
  type PolicySource,
  type RestoreRequest,
  type SharedMaps,
} from '@syrup/core';
import { InMemoryDataMapProvider, type DataMapStore } from '@syrup/maps';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { container } from 'tsyringe';
import { afterEach, expect, it } from 'vitest';
import { RuntimePersistenceOptions, RuntimeService, type Caller } from '../src/index.js';
import { REUSEPORT_SERVER, send } from './support/udp.js';

const USERSPACE_HOOK: HookSpec = { id: 'test-userspace', layer: 'userspace test agent', inputs: ['udp'], executor: 'core', verdicts: ['pass', 'drop'], mapStore: 'userspace' };

interface AgentArtifact extends Artifact {
  readonly ir: PolicyIr;
}

/**
 * A userspace agent at hook `test-userspace`: it evaluates the policy with core's
 * PolicyEvaluator over the maps it is given (shared ones from the runtime, its own in memory)
 * each time the test calls `run`. Its persistence is a file in the deployment's state
 * directory (how many inputs it ran), recorded with its own kind and identity.
 */
class AgentAttachment implements Attachment {
  readonly hook = USERSPACE_HOOK.id;
  readonly maps: ReadonlyMap<string, DataMapStore>;
  #evaluator: PolicyEvaluator;
  #runs: number;
  #closed = false;
  /** Where `persist` keeps the agent's state file, which `release` brings up to date. */
  #stateFile: string | undefined;
  /** Names this agent's state file in the record: the identity restore checks. */
  readonly #token: string = randomBytes(8).toString('hex');

  constructor(ir: PolicyIr, maps: ReadonlyMap<string, DataMapStore>, readonly pid: number, runs = 0, kept?: { stateFile: string; token: string }) {
    this.maps = maps;
    if (kept !== undefined) {
      this.#stateFile = kept.stateFile;
      this.#token = kept.token;
    }
    this.#evaluator = new PolicyEvaluator(ir, { maps });
    this.#runs = runs;
  }

  /** One input through the policy, as an agent would for each thing it schedules. */
  run(): void {
    if (this.#closed) throw new Error('the agent is closed');
    this.#evaluator.evaluate({ srcPort: 1, dstPort: 2 });
    this.#runs++;
  }

  get runs(): number {
    return this.#runs;
  }

  async replace(artifact: Artifact): Promise<void> {
    this.#evaluator = new PolicyEvaluator((artifact as AgentArtifact).ir, { maps: this.maps });
  }

  persist(location: PersistenceLocation): PersistedAttachment {
    this.#stateFile = join(location.stateDir, 'agent.json');
    this.#save();
    return { backend: 'test-agent', hook: this.hook, pid: this.pid, objects: [{ kind: 'agent-file', role: 'runs', identity: { file: 'agent.json', token: this.#token } }], data: {} };
  }

  /** The daemon stops: the agent's state goes to its file, to be found again by restore. */
  async release(): Promise<void> {
    this.#closed = true;
    this.#save();
  }

  #save(): void {
    if (this.#stateFile !== undefined) writeFileSync(this.#stateFile, JSON.stringify({ token: this.#token, runs: this.#runs }), { mode: 0o600 });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

class AgentBackend implements Backend {
  readonly name = 'test-agent';
  readonly hooks = [USERSPACE_HOOK];
  readonly #memory = new InMemoryDataMapProvider();

  async probe(): Promise<readonly HookProbe[]> {
    return [{ hook: USERSPACE_HOOK.id, available: true }];
  }

  /** The agent schedules a process of the caller's, named by pid (core's generic process rule). */
  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    const pid = request.target.pid;
    if (pid === undefined) throw new OwnershipError('NOT_OWNER', `hook '${USERSPACE_HOOK.id}' needs the pid of one of uid ${request.caller.uid}'s processes.`);
    requireProcessOwner(pid, request.caller.uid, 'hand its inputs to this agent');
    return { target: request.target, claims: [processClaim(pid)] };
  }

  async compile(request: CompileRequest): Promise<AgentArtifact> {
    // The runtime's compile worker already ran the front end: a backend never parses policy text.
    return { backend: this.name, hook: USERSPACE_HOOK.id, policy: request.policy, ir: request.ir };
  }

  async attach(request: AttachRequest): Promise<AgentAttachment> {
    const { ir } = request.artifact as AgentArtifact;
    return new AgentAttachment(ir, this.#maps(ir, request.sharedMaps), request.target.pid as number);
  }

  async restore(request: RestoreRequest): Promise<AgentAttachment> {
    // The identity is this backend's own: the token its state file must carry.
    const identity = request.record.objects[0]?.identity as { file?: unknown; token?: unknown } | undefined;
    if (identity?.file !== 'agent.json' || typeof identity.token !== 'string') throw new RestoreError('RESTORE_FAILED', 'the record names no agent state file.');
    const stateFile = join(request.location.stateDir, 'agent.json');
    const kept = JSON.parse(readFileSync(stateFile, 'utf8')) as { token: string; runs: number };
    if (kept.token !== identity.token) throw new RestoreError('RESTORE_UNTRUSTED', 'the agent state file is not the recorded one.');
    // The policy comes back with the request (the runtime recorded its IR): an agent keeps no code of its own.
    const ir = request.ir;
    if (ir === undefined) throw new RestoreError('RESTORE_FAILED', 'the agent was asked to restore without the policy it runs.');
    return new AgentAttachment(ir, this.#maps(ir, request.sharedMaps), request.record.pid as number, kept.runs, { stateFile, token: kept.token });
  }

  #maps(ir: PolicyIr, shared: SharedMaps | undefined): Map<string, DataMapStore> {
    const maps = new Map<string, DataMapStore>();
    for (const [name, spec] of Object.entries(ir.manifest.maps)) maps.set(name, shared?.get(name) ?? this.#memory.createMap(spec, { name }));
    return maps;
  }
}

/** Kernel side: counts each datagram in seen[0] and copies what the agent counted (seen[1]) into seen[2]. */
const SELECT: PolicySource = {
  fileName: 'select-side.ts',
  text: [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'select-side',",
    "  input: 'udp',",
    "  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },",
    '  schedule(pkt, { seen }) { seen.fetchAdd(0, 1); seen.set(2, seen.get(1)); return 0; },',
    '});',
    '',
  ].join('\n'),
};

/** Userspace side: counts each run in seen[1] and copies what the kernel program counted (seen[0]) into seen[3]. */
const AGENT: PolicySource = {
  fileName: 'agent-side.ts',
  text: [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'agent-side',",
    "  input: 'udp',",
    "  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },",
    '  schedule(pkt, { seen }) { seen.fetchAdd(1, 1); seen.set(3, seen.get(0)); return 0; },',
    '});',
    '',
  ].join('\n'),
};

/** A Python other uids can run (root's PATH may lead to a shim under /root). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TENANT = 61_010;

async function serverAs(uid: number): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const child = spawn(PYTHON, [REUSEPORT_SERVER, '1'], { uid, gid: uid, stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the server of uid ${uid} exited with ${code}`)));
  });
  const hello = JSON.parse(line) as { port: number; pid: number };
  return { child, port: hello.port, pid: hello.pid };
}

/** Polls `read` until it equals `want` (3 s at most) and returns the last reading. */
async function settle(read: () => Promise<bigint[]>, want: bigint[]): Promise<bigint[]> {
  let now: bigint[] = [];
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    now = await read();
    if (now.join() === want.join()) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return now;
}

function mapIdentity(deployment: ManagedDeployment, name: string): string | undefined {
  return deployment.attachment?.maps.get(name)?.identity;
}

describeKernel('a map shared between socket-select (kernel) and a userspace hook', { needs: ['bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function serviceWith(agent: AgentBackend, persistence?: RuntimePersistenceOptions): RuntimeService {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    ebpfBackendModule.register(child);
    child.register(Backend, { useValue: agent });
    if (persistence !== undefined) child.register(RuntimePersistenceOptions, { useValue: persistence });
    child.registerSingleton(RuntimeService);
    const service = child.resolve(RuntimeService);
    cleanup.push(() => service.close());
    return service;
  }

  async function deployBoth(service: RuntimeService, agent: AgentBackend, order: 'agent-first' | 'select-first'): Promise<{ select: ManagedDeployment; agentSide: ManagedDeployment; server: { port: number; pid: number } }> {
    const server = await serverAs(TENANT);
    cleanup.push(() => server.child.kill());
    const tenant: Caller = { uid: TENANT, gid: TENANT, pid: server.pid };
    const deploySelect = (): Promise<ManagedDeployment> => service.deploy(SELECT, { hook: 'socket-select', port: server.port, shareMaps: ['seen'] }, tenant);
    const deployAgent = (): Promise<ManagedDeployment> => service.deploy(AGENT, { hook: USERSPACE_HOOK.id, pid: server.pid, shareMaps: ['seen'] }, tenant);
    if (order === 'agent-first') {
      const agentSide = await deployAgent();
      // Nothing at a kernel hook shares 'seen' yet, and still it is a kernel map: a socket-select deployment may join later.
      expect(agentSide.attachment?.maps.get('seen')).toBeInstanceOf(KernelDataMapStore);
      return { agentSide, select: await deploySelect(), server };
    }
    const select = await deploySelect();
    return { select, agentSide: await deployAgent(), server };
  }

  /** Datagrams through the kernel program, runs through the agent, and each side reads what the other wrote. */
  async function exchange(select: ManagedDeployment, agentSide: ManagedDeployment, port: number, before: { packets: bigint; runs: bigint }): Promise<void> {
    const agentAttachment = agentSide.attachment as AgentAttachment;
    const runs = 3;
    for (let i = 0; i < runs; i++) agentAttachment.run();
    await send(port, 5);
    const packets = before.packets + 5n;
    const ran = before.runs + BigInt(runs);
    const read = async (d: ManagedDeployment): Promise<bigint[]> => Promise.all([0, 1, 2].map(async (k) => (await d.maps['seen']?.get(k)) as bigint));
    // The kernel program counted the datagrams and read the agent's count (key 2 = key 1).
    expect(await settle(() => read(select), [packets, ran, ran])).toEqual([packets, ran, ran]);
    // One more run: the agent reads the kernel's count (key 3 = key 0), through the same kernel map.
    agentAttachment.run();
    expect(await agentSide.maps['seen']?.get(3)).toBe(packets);
    expect(await select.maps['seen']?.get(1)).toBe(ran + 1n);
  }

  for (const order of ['agent-first', 'select-first'] as const) {
    it(`shares one kernel map between the two hooks when the ${order === 'agent-first' ? 'userspace deployment' : 'socket-select deployment'} comes first`, async () => {
      const agent = new AgentBackend();
      const service = serviceWith(agent);
      const { select, agentSide, server } = await deployBoth(service, agent, order);
      expect(mapIdentity(agentSide, 'seen')).toMatch(/^ebpf-map:\d+$/);
      expect(mapIdentity(agentSide, 'seen')).toBe(mapIdentity(select, 'seen'));
      await exchange(select, agentSide, server.port, { packets: 0n, runs: 0n });
      await service.undeploy(select.id);
      await service.undeploy(agentSide.id);
    });
  }

  it('shares the map again after a restart: the socket-select deployment brings it back from its pins, the userspace one is given it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-xl-restart-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pinRoot = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-xl-${randomBytes(4).toString('hex')}`);
    cleanup.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const persistence = { pinRoot, stateRoot: join(dir, 'deployments'), stateFile: join(dir, 'state.json') };
    const agent = new AgentBackend();
    const before = serviceWith(agent, persistence);
    // The userspace deployment first, so that it comes first in the state file too: recovery still restores the kernel one first.
    const { select, agentSide, server } = await deployBoth(before, agent, 'agent-first');
    await exchange(select, agentSide, server.port, { packets: 0n, runs: 0n });
    const identity = mapIdentity(select, 'seen');
    const state = JSON.parse(readFileSync(persistence.stateFile, 'utf8')) as { version: number; deployments: { id: string; attachment: { objects: unknown[] } }[] };
    expect(state.version).toBe(2);
    expect(state.deployments.map((d) => d.id)).toEqual([agentSide.id, select.id]);
    expect(state.deployments[0]?.attachment.objects).toEqual([{ kind: 'agent-file', role: 'runs', identity: { file: 'agent.json', token: expect.stringMatching(/^[0-9a-f]{16}$/) } }]);
    // Each deployment has its state directory (root's, 0755); the agent's file is in its own.
    expect(statSync(join(persistence.stateRoot, agentSide.id)).mode & 0o777).toBe(0o755);
    expect(existsSync(join(persistence.stateRoot, agentSide.id, 'agent.json'))).toBe(true);
    expect(existsSync(join(persistence.stateRoot, select.id))).toBe(true);

    await before.close();
    // Stopped: the kernel program still counts into the pinned map.
    await send(server.port, 2);
    const after = serviceWith(agent, persistence);
    // The socket-select deployment is restored first (its maps live in the kernel), though the state file names it second.
    expect((await after.recover()).restored).toEqual([select.id, agentSide.id]);
    const [rs, ra] = [after.get(select.id), after.get(agentSide.id)];
    expect(mapIdentity(rs, 'seen')).toBe(identity);
    expect(mapIdentity(ra, 'seen')).toBe(identity);
    expect((ra.attachment as AgentAttachment).runs).toBe(4);
    expect((await after.deployments()).map((d) => [d.id, d.sharedMaps])).toEqual(
      expect.arrayContaining([
        [select.id, ['seen']],
        [agentSide.id, ['seen']],
      ]),
    );
    // 5 + 2 datagrams and 4 agent runs before; the exchange goes on over the same kernel map.
    await exchange(rs, ra, server.port, { packets: 7n, runs: 4n });
    await after.undeploy(rs.id);
    await after.undeploy(ra.id);
    // Undeployed: their state directories go with them.
    expect(existsSync(join(persistence.stateRoot, select.id))).toBe(false);
    expect(existsSync(join(persistence.stateRoot, agentSide.id))).toBe(false);
  });
});
