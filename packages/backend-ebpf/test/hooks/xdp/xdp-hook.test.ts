import { compilePolicy } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, type FeatureName, type FeatureReport, type FeatureStatus } from '../../../src/features/probe-features.js';
import { XdpHook, createXdpHooks } from '../../../src/hooks/xdp/xdp-hook.js';
import { XdpHookError } from '../../../src/hooks/xdp/xdp-hook-error.js';
import { parseXdpTarget } from '../../../src/hooks/xdp/xdp-target.js';
import { policySource } from './xdp-test-support.js';

function report(missing: Partial<Record<FeatureName, string>>): FeatureReport {
  const features: FeatureStatus[] = FEATURE_NAMES.map((name) => {
    const reason = missing[name];
    return reason === undefined ? { name, available: true } : { name, available: false, reason };
  });
  return {
    features,
    get: (name) => features.find((f) => f.name === name) as FeatureStatus,
    has: (...names) => names.every((name) => features.find((f) => f.name === name)?.available === true),
  };
}

function refusal(action: () => unknown): XdpHookError {
  try {
    action();
  } catch (error) {
    if (error instanceof XdpHookError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('XdpHook', () => {
  it('declares the three standard XDP hooks', () => {
    expect(createXdpHooks().map((h) => [h.spec.id, h.spec.executor])).toEqual([
      ['xdp-skb', 'xsk'],
      ['xdp-drv', 'xsk'],
      ['cpu-redirect', 'cpu'],
    ]);
  });

  it('probes from the shared feature report and says why not in the missing feature\'s sentence', () => {
    const [skb, drv, cpu] = createXdpHooks() as [XdpHook, XdpHook, XdpHook];
    const all = report({});
    expect([skb.probe(all), drv.probe(all), cpu.probe(all)].map((p) => p.available)).toEqual([true, true, true]);
    const noDriver = report({ 'xdp-driver': 'Driver (native) XDP cannot be attached: no.' });
    expect(drv.probe(noDriver)).toEqual({ hook: 'xdp-drv', available: false, reason: 'Driver (native) XDP cannot be attached: no.' });
    expect(skb.probe(noDriver).available).toBe(true);
    expect(cpu.probe(noDriver).available).toBe(true);
    const noXsk = report({ 'af-xdp': 'This kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS is off).' });
    expect(skb.probe(noXsk).reason).toBe('This kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS is off).');
    expect(cpu.probe(noXsk).available).toBe(true);
    const noXdp = report({ 'xdp-driver': 'no driver XDP.', 'xdp-generic': 'Generic (skb) XDP cannot be attached: no.' });
    expect(cpu.probe(noXdp)).toEqual({ hook: 'cpu-redirect', available: false, reason: 'Generic (skb) XDP cannot be attached: no.' });
  });

  it('compiles udp policies with the port filter and packet policies without one', () => {
    const hook = new XdpHook('xdp-skb');
    const udp = compilePolicy(policySource('std:round-robin')).ir;
    expect(hook.compile(udp, { port: 9000 }).target).toBe('xdp-skb');
    const packet = compilePolicy({
      fileName: 'packet.ts',
      text: "import { definePolicy } from '@syrup/core';\nexport default definePolicy({ name: 'p', input: 'packet', schedule(frame) { return frame.length % 2; } });\n",
    }).ir;
    expect(hook.compile(packet, { port: 9000 }).input).toBe('packet');
  });
});

describe('parseXdpTarget', () => {
  it('reads the interface, port, queue and executors, with defaults', () => {
    const target = parseXdpTarget('xdp-skb', { interface: 'eth0', port: 9000, extra: { xskCount: 3 } });
    expect(target).toMatchObject({ ifname: 'eth0', port: 9000, queue: 0, netns: undefined, xsk: { kind: 'create', count: 3 } });
    expect(parseXdpTarget('cpu-redirect', { interface: 'eth0', port: 9000 })).toMatchObject({ cpus: undefined, cpuQueueSize: 2048, mode: undefined, xsk: { kind: 'none' } });
    expect(parseXdpTarget('cpu-redirect', { interface: 'eth0', port: 9000, extra: { cpus: [1, 1, 0], mode: 'drv' } })).toMatchObject({ cpus: [1, 0], mode: 'drv' });
  });

  it.each([
    ['xdp-skb', { port: 9000 }, /needs the target's interface/],
    ['xdp-skb', { interface: 'eth0' }, /needs the target's UDP port/],
    ['xdp-drv', { interface: 'eth0', port: 70000 }, /UDP port \(1 to 65535\)/],
    ['xdp-skb', { interface: 'eth0', port: 9000, protocol: 'tcp' }, /serves UDP ports, not tcp/],
    ['xdp-skb', { interface: 'eth0', port: 9000, queue: -1 }, /not an RX queue index/],
    ['xdp-skb', { interface: 'eth0', port: 9000, extra: { xskCount: 0 } }, /xskCount must be an integer from 1 to 64/],
    ['xdp-skb', { interface: 'eth0', port: 9000, extra: { xskCount: 2, xskSockets: [] } }, /not both/],
    ['xdp-skb', { interface: 'eth0', port: 9000, extra: { xskSockets: [1, 2] } }, /XskSocketGroup or a non-empty array of XskSocket/],
    ['xdp-skb', { interface: 'eth0', port: 9000, extra: { cpus: [0] } }, /takes no target option 'cpus'/],
    ['cpu-redirect', { interface: 'eth0', port: 9000, extra: { xskCount: 2 } }, /takes no target option 'xskCount'/],
    ['cpu-redirect', { interface: 'eth0', port: 9000, extra: { cpus: [] } }, /non-empty array of CPU numbers/],
    ['cpu-redirect', { interface: 'eth0', port: 9000, extra: { cpuQueueSize: 1 << 20 } }, /1 to 16384/],
    ['cpu-redirect', { interface: 'eth0', port: 9000, extra: { mode: 'hw' } }, /'skb' or 'drv'/],
    ['cpu-redirect', { interface: 'eth0', port: 9000, extra: { cpuProgram: {} } }, /XDP_CPUMAP/],
  ] as const)('%s refuses %j in one sentence', (hook, target, message) => {
    const error = refusal(() => parseXdpTarget(hook, target as never));
    expect(error.code).toBe('XDP_TARGET_INVALID');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/\.$/);
  });
});
