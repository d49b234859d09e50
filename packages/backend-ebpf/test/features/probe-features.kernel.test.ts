import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { FEATURE_NAMES, probeFeature, probeFeatures } from '../../src/features/probe-features.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

function probeNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith(`syrup-probe-${process.pid}-`));
}

describeKernel('capability probe on this machine', { needs: ['bpf'] }, () => {
  it('answers every capability, and all are available here as root', () => {
    const report = probeFeatures({ refresh: true });
    expect(report.features.map((f) => f.name)).toEqual([...FEATURE_NAMES]);
    for (const feature of report.features) expect(feature, feature.reason).toEqual({ name: feature.name, available: true });
    expect(report.has('xdp-generic', 'xdp-driver', 'af-xdp')).toBe(true);
    // The XDP probes clean up their throwaway namespaces.
    expect(probeNamespaces()).toEqual([]);
  }, 60_000);

  it('caches answers per syscall layer', () => {
    const first = probeFeature('ringbuf', { sys: nativeSyscalls() });
    expect(probeFeature('ringbuf', { sys: nativeSyscalls() })).toBe(first);
    expect(probeFeature('ringbuf', { sys: nativeSyscalls(), refresh: true })).not.toBe(first);
  });
});
