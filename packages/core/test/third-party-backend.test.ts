// tsyringe needs the Reflect polyfill before it loads; tests import it first, as an application would.
import 'reflect-metadata';
import { container as rootContainer } from 'tsyringe';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HookRegistry,
  HookUnavailableError,
  LowLevelError,
  ManagedDeployment,
  OwnershipError,
  compilePolicy,
  registerHookRegistry,
  type DeploymentState,
  type HookRegistry as HookRegistryType,
  type PolicyUnit,
} from '../src/index.js';
import { RecordingBackend, brokenBackendModule, recordedCalls, recordingBackendModule } from './fixtures/recording-backend.js';

/** A policy as the runtime hands it to a deployment: compiled once by the front end, with its source. */
function unit(name: string, input: 'udp' | 'packet', schedule: string): PolicyUnit {
  const source = {
    fileName: `${name}.ts`,
    text: `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: '${name}',
  input: '${input}',
  maps: ${input === 'udp' ? "{ seen: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 8 } }" : '{}'},
  schedule(${schedule},
});
`,
  };
  const { ir, manifest } = compilePolicy(source);
  return { manifest, ir, source };
}

const counterPolicy = unit('counter', 'udp', '_pkt, { seen }) { return seen.fetchAdd(0, 1) % 2; }');
const counterV2 = (): PolicyUnit => unit('counter-v2', 'udp', ') { return 0; }');

function makeRegistry(): HookRegistryType {
  const container = rootContainer.createChildContainer();
  registerHookRegistry(container);
  recordingBackendModule.register(container);
  brokenBackendModule.register(container);
  return container.resolve<HookRegistryType>(HookRegistry);
}

describe('a third-party backend registered with register(container)', () => {
  beforeEach(() => {
    recordedCalls.length = 0;
  });

  it('is offered by the registry, while a backend whose probe throws is reported unavailable', async () => {
    const registry = makeRegistry();
    const hooks = await registry.hooks();
    expect(hooks.map((h) => [h.hook.id, h.backend, h.available])).toEqual([
      ['test-queue', 'recording', true],
      ['broken-hook', 'broken', false],
    ]);
    expect(hooks[1]?.reason).toBe('its probe failed: the broken device is missing');
    await expect(registry.backendFor('broken-hook')).rejects.toBeInstanceOf(HookUnavailableError);
    await expect(registry.backendFor('broken-hook')).rejects.toThrow(
      "hook 'broken-hook' of backend 'broken' is unavailable: its probe failed: the broken device is missing",
    );
    expect((await registry.backendFor('test-queue')).backend.name).toBe('recording');
    await registry.hooks();
    expect(recordedCalls.filter((c) => c === 'probe')).toEqual(['probe']);
  });

  it('deploys a policy through probe, compile and attach with lifecycle events in order, and await using releases it', async () => {
    const registry = makeRegistry();
    const events: string[] = [];
    const states: DeploymentState[] = [];
    let attachmentClosedAfterScope = false;
    {
      await using deployment = new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: { port: 9000 } });
      for (const name of ['will-compile', 'compiled', 'will-attach', 'attached', 'will-replace', 'replaced', 'will-undeploy', 'undeployed', 'failed'] as const) {
        deployment.on(name, () => events.push(name));
      }
      deployment.on('state-changed', (to) => states.push(to));
      await deployment.start();
      expect(deployment.state).toBe('active');
      expect(await deployment.maps['seen']?.fetchAdd(3, 5n)).toBe(0n);
      expect(await deployment.maps['seen']?.get(3)).toBe(5n);

      const next = counterV2();
      await deployment.replace(next);
      // The backend generated from the IR the unit carries: the front end is not run again.
      expect(RecordingBackend.lastCompile?.ir).toBe(next.ir);
      expect(deployment.policy.name).toBe('counter-v2');
      expect(RecordingBackend.lastAttachment?.closed).toBe(false);
    }
    attachmentClosedAfterScope = RecordingBackend.lastAttachment?.closed ?? false;
    expect(attachmentClosedAfterScope).toBe(true);
    // Subscribed to the target's exit once, right after attach: replace keeps the attachment.
    expect(recordedCalls).toEqual(['probe', 'compile:counter', 'attach:9000', 'onTargetExit', 'compile:counter-v2', 'replace:counter-v2', 'close']);
    expect(events).toEqual(['will-compile', 'compiled', 'will-attach', 'attached', 'will-replace', 'replaced', 'will-undeploy', 'undeployed']);
    expect(states).toEqual(['compiling', 'attaching', 'active', 'replacing', 'active', 'undeploying', 'undeployed']);
  });

  it('refuses a policy whose input the hook does not accept, emits failed and attaches nothing', async () => {
    const registry = makeRegistry();
    const packetPolicy = unit('raw', 'packet', ') { return 0; }');
    const deployment = new ManagedDeployment(registry, packetPolicy, { hook: 'test-queue', target: {} });
    const failures: string[] = [];
    deployment.on('failed', (e) => failures.push(e.code));
    await expect(deployment.start()).rejects.toThrow("policy 'raw' takes 'packet' inputs, but hook 'test-queue' accepts only udp.");
    expect(deployment.state).toBe('failed');
    expect(failures).toEqual(['DEPLOY_FAILED']);
    expect(recordedCalls.some((c) => c.startsWith('attach'))).toBe(false);
  });

  it("reports a backend's low-level error inside its own DEPLOY_FAILED sentence, and a refusal unchanged", async () => {
    const registry = makeRegistry();
    const lowLevel = new LowLevelError('LINK_ATTACH_FAILED', 'attaching the program failed with EBUSY.');
    const attach = vi.spyOn(RecordingBackend.prototype, 'attach').mockRejectedValueOnce(lowLevel);
    try {
      const failed = new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: { port: 9000 } }).start();
      await expect(failed).rejects.toMatchObject({
        code: 'DEPLOY_FAILED',
        message: "deploying policy 'counter' at hook 'test-queue' failed: attaching the program failed with EBUSY.",
        cause: lowLevel,
      });
      const refusal = new OwnershipError('NOT_OWNER', 'port 9000 belongs to uid 1000.');
      attach.mockRejectedValueOnce(refusal);
      await expect(new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: { port: 9000 } }).start()).rejects.toBe(refusal);
    } finally {
      attach.mockRestore();
    }
  });

  it('undeploys itself when the attachment reports that its target process exited', async () => {
    const registry = makeRegistry();
    const deployment = await new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: { pid: 4242 } }).start();
    const events: string[] = [];
    for (const name of ['target-exited', 'will-undeploy', 'undeployed'] as const) deployment.on(name, () => events.push(name));
    const undeployed = new Promise<void>((resolve) => deployment.once('undeployed', () => resolve()));
    RecordingBackend.lastAttachment?.exitTarget();
    await undeployed;
    expect(events).toEqual(['target-exited', 'will-undeploy', 'undeployed']);
    expect(deployment.state).toBe('undeployed');
    expect(RecordingBackend.lastAttachment?.closed).toBe(true);
    expect(deployment.maps).toEqual({});
    await deployment.undeploy();
    expect(recordedCalls.filter((c) => c === 'close')).toEqual(['close']);
  });

  it('lets a replace that the target exit interrupts finish, then undeploys', async () => {
    const registry = makeRegistry();
    const deployment = await new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: { pid: 4242 } }).start();
    const attachment = RecordingBackend.lastAttachment;
    const events: string[] = [];
    for (const name of ['replaced', 'target-exited', 'undeployed'] as const) deployment.on(name, () => events.push(name));
    if (attachment !== undefined) attachment.duringReplace = () => attachment.exitTarget();
    const undeployed = new Promise<void>((resolve) => deployment.once('undeployed', () => resolve()));
    await deployment.replace(counterV2());
    await undeployed;
    expect(events).toEqual(['replaced', 'target-exited', 'undeployed']);
    expect(deployment.state).toBe('undeployed');
    expect(attachment?.closed).toBe(true);
  });

  it('hands the backend the IR and source of the unit it deploys, and refuses a unit whose IR breaks its contract before the backend compiles', async () => {
    const registry = makeRegistry();
    const deployment = await new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: {} }).start();
    expect(RecordingBackend.lastCompile).toMatchObject({ policy: counterPolicy.manifest, source: counterPolicy.source });
    expect(RecordingBackend.lastCompile?.ir).toBe(counterPolicy.ir);
    await deployment.undeploy();

    recordedCalls.length = 0;
    const broken = { ...counterPolicy, ir: { ...counterPolicy.ir, insns: counterPolicy.ir.insns.slice(0, -1) } };
    await expect(new ManagedDeployment(registry, broken, { hook: 'test-queue', target: {} }).start()).rejects.toMatchObject({ code: 'POLICY_IR_INVALID' });
    const stranger = { ...counterPolicy, manifest: counterV2().manifest };
    await expect(new ManagedDeployment(registry, stranger, { hook: 'test-queue', target: {} }).start()).rejects.toThrow(
      "policy 'counter-v2' was handed over with a manifest that is not its IR's.",
    );
    expect(recordedCalls.filter((c) => c.startsWith('compile') || c.startsWith('attach'))).toEqual([]);
  });

  it('refuses a replace before start with a state error', async () => {
    const registry = makeRegistry();
    const deployment = new ManagedDeployment(registry, counterPolicy, { hook: 'test-queue', target: {} });
    await expect(deployment.replace(counterPolicy)).rejects.toMatchObject({ code: 'DEPLOYMENT_STATE' });
  });
});
