// A state file in the format the daemon wrote before generic object records (version 1, see
// fixtures/state-v1-socket-select.json, captured from a real run) still restores: the runtime
// migrates it on read, the eBPF backend checks the pins' ids and tags, and the deployment,
// which had no state directory then, gets one.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '@syrup/backend-ebpf/pin';
import { registerHookRegistry, type PolicySource } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { container } from 'tsyringe';
import { afterEach, expect, it } from 'vitest';
import { RuntimePersistenceOptions, RuntimeService } from '../src/index.js';
import { REUSEPORT_SERVER, send } from './support/udp.js';

const COUNTING: PolicySource = {
  fileName: 'count.ts',
  text: [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'count',",
    "  input: 'udp',",
    "  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 }, other: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 16 } },",
    '  params: { KEY: 0 },',
    '  schedule(pkt, { seen }, { KEY }) { seen.fetchAdd(KEY, 1); return 0; },',
    '});',
    '',
  ].join('\n'),
};

const FIXTURE = fileURLToPath(new URL('./fixtures/state-v1-socket-select.json', import.meta.url));
const TENANT = 61_020;

type Json = Record<string, unknown>;

/** The record as the version 1 daemon wrote it: each object flat (pin, kind, role, id, tag, name), version 1. */
function toVersion1(state: { deployments: Json[] }): Json {
  return {
    version: 1,
    deployments: state.deployments.map((d) => {
      const attachment = d['attachment'] as { objects: { kind: string; role: string; name?: string; identity: { pin: string; id: number; tag?: string } }[] } & Json;
      const objects = attachment.objects.map(({ kind, role, name, identity }) => ({
        pin: identity.pin,
        kind,
        role,
        id: identity.id,
        ...(identity.tag === undefined ? {} : { tag: identity.tag }),
        ...(name === undefined ? {} : { name }),
      }));
      // The daemon before generic records recorded no IR either: recovery compiles such a record once in the worker.
      const { ir: _ir, ...policy } = d['policy'] as Json;
      return { ...d, policy, attachment: { ...attachment, objects } };
    }),
  };
}

/** Every key path of a JSON value with arrays reduced to their first element's keys: the shape a file has. */
function shapeOf(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => shapeOf(v, `${path}[]`)).filter((p, i, all) => all.indexOf(p) === i);
  if (typeof value !== 'object' || value === null) return [path];
  return Object.entries(value).flatMap(([k, v]) => shapeOf(v, `${path}.${k}`));
}

describeKernel('a version 1 state file (written by the daemon before generic records)', { needs: ['bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function serviceWith(persistence: RuntimePersistenceOptions): RuntimeService {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    ebpfBackendModule.register(child);
    child.register(RuntimePersistenceOptions, { useValue: persistence });
    child.registerSingleton(RuntimeService);
    const service = child.resolve(RuntimeService);
    cleanup.push(() => service.close());
    return service;
  }

  it('restores: migrated on read, pins checked by id and tag, a state directory made, written back as version 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-v1-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pinRoot = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-v1-${randomBytes(4).toString('hex')}`);
    cleanup.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const persistence = { pinRoot, stateRoot: join(dir, 'deployments'), stateFile: join(dir, 'state.json') };
    const server = spawn('/usr/bin/python3', [REUSEPORT_SERVER, '2'], { uid: TENANT, gid: TENANT, stdio: ['pipe', 'pipe', 'ignore'] });
    cleanup.push(() => server.kill());
    const hello = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: server.stdout! }).once('line', resolve))) as { port: number; pid: number };
    const tenant = { uid: TENANT, gid: TENANT, pid: hello.pid };

    const before = serviceWith(persistence);
    const d = await before.deploy(COUNTING, { hook: 'socket-select', port: hello.port, params: { KEY: 1 }, shareMaps: ['seen'] }, tenant);
    await send(hello.port, 3);
    await before.close();

    // What the daemon before generic records would have written for this deployment, in the fixture's exact shape.
    const v1 = toVersion1(JSON.parse(readFileSync(persistence.stateFile, 'utf8')) as { deployments: Json[] });
    expect(shapeOf(v1).sort()).toEqual(shapeOf(JSON.parse(readFileSync(FIXTURE, 'utf8'))).sort());
    writeFileSync(persistence.stateFile, JSON.stringify(v1, null, 2));
    // The daemon before state directories made none.
    rmSync(join(persistence.stateRoot, d.id), { recursive: true, force: true });

    const after = serviceWith(persistence);
    expect(await after.recover()).toEqual({ restored: [d.id], dropped: [] });
    const restored = after.get(d.id, tenant);
    expect(await restored.maps['seen']?.get(1)).toBe(3n);
    await send(hello.port, 2);
    await expect.poll(async () => restored.maps['seen']?.get(1)).toBe(5n);
    expect(statSync(join(persistence.stateRoot, d.id)).mode & 0o777).toBe(0o755);
    const written = JSON.parse(readFileSync(persistence.stateFile, 'utf8')) as { version: number; deployments: { attachment: { objects: Json[] } }[] };
    expect(written.version).toBe(2);
    expect(written.deployments[0]?.attachment.objects.map((o) => o['kind'])).toEqual(['prog', 'map', 'map', 'map']);

    await after.undeploy(d.id, tenant);
    expect(existsSync(join(persistence.stateRoot, d.id))).toBe(false);
    expect(existsSync(join(pinRoot, d.id))).toBe(false);
  });
});
