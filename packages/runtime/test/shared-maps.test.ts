import 'reflect-metadata';
import { type DeployOptions, type Deployment, type PolicySource } from '@syrup/core';
import { InMemoryDataMapProvider, InMemoryDataMapStore, type DataMap, type DataMapProvider, type DataMapSpec } from '@syrup/maps';
import { describe, expect, it } from 'vitest';
import { embedded, LimitError, RuntimeError, RuntimeLimits, RuntimeService, SharedMapRegistry, type RuntimeDeploymentInfo } from '../src/index.js';
import { memoryBackendModule } from './support/memory-backend.js';
import { memoryServices } from './support/memory-services.js';
import { chooseSharedMapProvider } from '../src/service/shared-maps.js';

/** A policy whose map `seen` is `kind` with `entries` entries, counting its datagrams under key KEY. */
function counting(name: string, kind = 'array', entries = 2): PolicySource {
  return {
    fileName: `${name}.ts`,
    text: [
      "import { definePolicy, PASS } from '@syrup/core';",
      'export default definePolicy({',
      `  name: '${name}',`,
      "  input: 'udp',",
      `  maps: { seen: { kind: '${kind}', key: 'u32', value: 'u64', maxEntries: ${entries} }, mine: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },`,
      '  params: { KEY: 0 },',
      '  schedule(pkt, { seen, mine }, { KEY }) { seen.fetchAdd(KEY, 1); mine.fetchAdd(0, 1); return PASS; },',
      '});',
      '',
    ].join('\n'),
  };
}

/** A deployment's scalar map. */
const scalar = (d: Deployment, name: string): DataMap => d.maps[name] as DataMap;

const ARRAY2: DataMapSpec = { kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 };
const at = (port: number, extra: Partial<DeployOptions> = {}): DeployOptions => ({ hook: 'socket-select', port, pid: 1234, ...extra });

const serviceWith = memoryServices();

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as RuntimeError).code, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('maps shared by name among one owner\'s deployments (shareMaps)', () => {
  it('gives a later deployment that shares the name the same map, keeps unshared maps apart, and lists what is shared', async () => {
    const service = serviceWith();
    const a = await service.deploy(counting('a'), at(9001, { shareMaps: ['seen'] }));
    const b = await service.deploy(counting('b'), at(9002, { shareMaps: ['seen'] }));
    const c = await service.deploy(counting('c'), at(9003));
    await scalar(a, 'seen').set(1, 41n);
    expect(await b.maps['seen']?.get(1)).toBe(41n);
    // Positive control: a deployment that did not opt in has a map of its own, and so has every `mine`.
    expect(await c.maps['seen']?.get(1)).toBe(0n);
    await scalar(a, 'mine').set(0, 7n);
    expect(await b.maps['mine']?.get(0)).toBe(0n);
    const info: RuntimeDeploymentInfo = service.info(b.id);
    expect(info.sharedMaps).toEqual(['seen']);
    expect(info.mapSpecs).toEqual({ seen: ARRAY2, mine: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } });
    expect(service.info(c.id).sharedMaps).toBeUndefined();
  });

  it('refuses a deployment that shares a name with another shape, naming both shapes, and one that shares a map it does not declare', async () => {
    const service = serviceWith();
    await service.deploy(counting('a'), at(9001, { shareMaps: ['seen'] }));
    expect(await refusal(service.deploy(counting('wide', 'array', 8), at(9002, { shareMaps: ['seen'] })))).toEqual({
      code: 'SHARED_MAP_MISMATCH',
      message:
        "map 'seen' is shared among uid 0's deployments as an array of 2 u32 -> u64 entries, but policy 'wide' declares it as an array of 8 u32 -> u64 entries, so it cannot use the shared map.",
    });
    expect(await refusal(service.deploy(counting('hashed', 'hash', 2), at(9002, { shareMaps: ['seen'] })))).toMatchObject({
      code: 'SHARED_MAP_MISMATCH',
      message: expect.stringContaining("declares it as a hash of 2 u32 -> u64 entries"),
    });
    expect(await refusal(service.deploy(counting('b'), at(9002, { shareMaps: ['nope'] })))).toEqual({
      code: 'MAP_NOT_FOUND',
      message: "policy 'b' declares no map 'nope' to share (it declares seen, mine).",
    });
    // Nothing was left behind by the refusals; the same shape is accepted (positive control).
    expect((await service.deployments()).map((d) => d.policy)).toEqual(['a']);
    await expect(service.deploy(counting('b'), at(9002, { shareMaps: ['seen'] }))).resolves.toBeDefined();
  });

  it('keeps the map for the others when the deployment that created it is undeployed, and lets go of it with the last user', async () => {
    const service = serviceWith();
    const a = await service.deploy(counting('a'), at(9001, { shareMaps: ['seen'] }));
    const b = await service.deploy(counting('b'), at(9002, { shareMaps: ['seen'] }));
    await scalar(a, 'seen').set(0, 5n);
    await service.undeploy(a.id);
    expect(await b.maps['seen']?.get(0)).toBe(5n);
    // A newcomer still joins the map b holds.
    const c = await service.deploy(counting('c'), at(9003, { shareMaps: ['seen'] }));
    expect(await c.maps['seen']?.get(0)).toBe(5n);
    await service.undeploy(b.id);
    await service.undeploy(c.id);
    // Nobody shares `seen` any more: the next sharer starts a fresh map (of any shape).
    const d = await service.deploy(counting('d', 'array', 8), at(9004, { shareMaps: ['seen'] }));
    expect(await d.maps['seen']?.get(0)).toBe(0n);
  });

  it('refuses a replace that drops or reshapes a shared map, and allows one that keeps it', async () => {
    const service = serviceWith();
    const a = await service.deploy(counting('a'), at(9001, { shareMaps: ['seen'] }));
    await service.deploy(counting('b'), at(9002, { shareMaps: ['seen'] }));
    const plain: PolicySource = { fileName: 'plain.ts', text: "import { definePolicy, PASS } from '@syrup/core';\nexport default definePolicy({ name: 'plain', input: 'udp', schedule() { return PASS; } });\n" };
    expect(await refusal(service.replace(a.id, plain))).toEqual({
      code: 'SHARED_MAP_MISMATCH',
      message: `deployment '${a.id}' shares map 'seen', so policy 'plain' can replace it only if it declares 'seen' too, as an array of 2 u32 -> u64 entries.`,
    });
    expect((await refusal(service.replace(a.id, counting('wide', 'array', 8)))).code).toBe('SHARED_MAP_MISMATCH');
    await expect(service.replace(a.id, counting('a2'))).resolves.toMatchObject({ policy: 'a2', sharedMaps: ['seen'] });
  });

  it('counts a shared map once against the owner\'s map memory limit', async () => {
    // Each policy: seen (hash of 1000: 12000 bytes) + mine (12 bytes).
    const service = serviceWith({ tenants: { 0: { maxMapBytes: 24_040 } } });
    await service.deploy(counting('a', 'hash', 1000), at(9001, { shareMaps: ['seen'] }));
    // Joining costs only `mine`: three sharers hold 12036 bytes, where three unshared copies would take 36036.
    await service.deploy(counting('b', 'hash', 1000), at(9002, { shareMaps: ['seen'] }));
    await service.deploy(counting('c', 'hash', 1000), at(9003, { shareMaps: ['seen'] }));
    // Positive control: the same policy without sharing asks for another 12012 bytes, over the limit.
    const refused = await refusal(service.deploy(counting('d', 'hash', 1000), at(9004)));
    expect(refused.code).toBe('LIMIT_MAP_MEMORY');
    expect(refused.message).toContain('already holds 12036');
  });

  it('serialises concurrent deploys of one owner so that both sharers get one map', async () => {
    const service = serviceWith();
    const [a, b] = await Promise.all([
      service.deploy(counting('a'), at(9001, { shareMaps: ['seen'] })),
      service.deploy(counting('b'), at(9002, { shareMaps: ['seen'] })),
    ]);
    await scalar(a, 'seen').set(1, 3n);
    expect(await b.maps['seen']?.get(1)).toBe(3n);
  });
});

describe('SharedMapRegistry', () => {
  it('keys maps by owner uid: another tenant sharing the same name gets a map of its own', () => {
    const registry = new SharedMapRegistry();
    const policy = { name: 'p', maps: { seen: ARRAY2 } };
    const mine = new InMemoryDataMapStore(ARRAY2, { name: 'seen' });
    expect(registry.plan(1000, policy, ['seen'])).toMatchObject({ borrowed: new Map(), created: ['seen'] });
    registry.register(1000, 'd1', ['seen'], new Map([['seen', mine]]));
    const joined = registry.plan(1000, policy, ['seen']);
    expect(joined.borrowed.size).toBe(1);
    joined[Symbol.dispose]();
    // uid 1001 creates its own; uid 1000's is untouched.
    expect(registry.plan(1001, policy, ['seen'])).toMatchObject({ borrowed: new Map(), created: ['seen'] });
    // The registry holds its own handle: closing the creator's store leaves the shared map readable.
    mine.update(0, [9n]);
    const plan = registry.plan(1000, policy, ['seen']);
    const shared = plan.borrowed.get('seen');
    mine.close();
    expect(shared?.lookup(0)).toEqual([9n]);
    // A plan in progress (a deploy attaching) holds the map: the last deployment's end does not close it under it.
    registry.release(1000, 'd1', ['seen']);
    expect(shared?.lookup(0)).toEqual([9n]);
    plan[Symbol.dispose]();
    expect(() => shared?.lookup(0)).toThrow('closed');
    expect(registry.specsOf(1000)).toEqual({});
  });

  it('takes shared maps from a kernel map provider whenever one is registered, in any registration order, else from memory', () => {
    const memory = new InMemoryDataMapProvider();
    const kernel: DataMapProvider = { name: 'kernel-like', residence: 'kernel', createMap: (spec, options) => memory.createMap(spec, options) };
    expect(chooseSharedMapProvider([memory, kernel])).toBe(kernel);
    expect(chooseSharedMapProvider([kernel, memory])).toBe(kernel);
    expect(chooseSharedMapProvider([memory])).toBe(memory);
    expect(chooseSharedMapProvider([])).toBeUndefined();
  });

  it('re-associates restored deployments by map identity and reports one whose map is another', () => {
    const registry = new SharedMapRegistry();
    const first = new InMemoryDataMapStore(ARRAY2, { name: 'seen' });
    // Another handle on the same map, as a restored deployment's pin opens it again: same identity, another object.
    const second = first.share();
    const other = new InMemoryDataMapStore(ARRAY2, { name: 'seen' });
    expect(second.identity).toBe(first.identity);
    expect(other.identity).not.toBe(first.identity);
    expect(registry.register(0, 'a', ['seen'], new Map([['seen', first]]))).toEqual([]);
    expect(registry.register(0, 'b', ['seen'], new Map([['seen', second]]))).toEqual([]);
    expect(registry.register(0, 'c', ['seen'], new Map([['seen', other]]))).toEqual(['seen']);
    expect(registry.usersOf(0, 'seen')).toEqual(['a', 'b']);
    registry.close();
  });
});

describe('client deployment events and typed maps (embedded)', () => {
  it('emits replaced and undeployed for changes made behind the handle, once each, and maps carry their spec and atomics', async () => {
    const syrup = await embedded({ backends: [memoryBackendModule] });
    try {
      const d = await syrup.deploy(counting('a'), at(9001));
      const events: string[] = [];
      d.on('replaced', (info) => events.push(`replaced ${info.policy}`));
      d.on('undeployed', (reason) => events.push(`undeployed ${reason}`));
      expect(d.maps['seen']?.spec).toEqual(ARRAY2);
      expect(await d.maps['seen']?.fetchAdd(1, 5n)).toBe(0n);
      expect(await d.maps['seen']?.compareExchange(1, 5n, 8n)).toBe(5n);
      expect(await d.maps['seen']?.compareExchange(1, 5n, 9n)).toBe(8n);
      expect(await d.maps['seen']?.get(1)).toBe(8n);
      // Behind the handle's back, as another client of the owner would.
      await syrup.service.replace(d.id, counting('a2'));
      expect(d.policy).toBe('a2');
      // The handle's own replace emits once.
      await d.replace(counting('a3'));
      await syrup.service.undeploy(d.id);
      await d.undeploy().catch(() => undefined);
      expect(events).toEqual(['replaced a2', 'replaced a3', 'undeployed undeployed']);
    } finally {
      await syrup.close();
    }
  });
});
