import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { FRONT_END_CHANNEL, STANDARD_HOOKS, compilePolicy } from '@syrup/core';
import { EbpfBackend } from '../src/ebpf-backend.js';
import { SocketSelectHook } from '../src/hooks/socket-select/socket-select-hook.js';
import type { EbpfArtifact } from '../src/hooks/network-hook.js';
import { policyUnit } from './hooks/socket-select/support.js';

describe('EbpfBackend.compile (no kernel)', () => {
  const runs: unknown[] = [];
  const listener = (message: unknown): void => {
    runs.push(message);
  };
  afterEach(() => {
    unsubscribe(FRONT_END_CHANNEL, listener);
    runs.length = 0;
  });

  it('generates the program from the request IR without running the front end; the source only adds line info', async () => {
    const backend = new EbpfBackend([new SocketSelectHook()]);
    const unit = policyUnit('std:round-robin', { SOCKETS: 4 });
    subscribe(FRONT_END_CHANNEL, listener);
    const hook = STANDARD_HOOKS['socket-select'];
    const withSource = (await backend.compile({ policy: unit.manifest, ir: unit.ir, hook, source: unit.source! })) as EbpfArtifact;
    const irOnly = (await backend.compile({ policy: unit.manifest, ir: unit.ir, hook })) as EbpfArtifact;
    expect(runs).toEqual([]);
    expect(withSource.ir).toBe(unit.ir);
    expect(withSource.policy).toBe(unit.ir.manifest);
    // The same code and positions either way (they are in the IR); the source only puts its lines' text into the BTF line info.
    expect(backend.describe(irOnly)).toEqual(backend.describe(withSource));
    expect(backend.describe(irOnly).join('\n')).toContain('round-robin.ts:10:12');
    const sourceLine = Buffer.from('return next.fetchAdd(0, 1) % SOCKETS;');
    expect(Buffer.from(withSource.program.btf.blob).includes(sourceLine)).toBe(true);
    expect(Buffer.from(irOnly.program.btf.blob).includes(sourceLine)).toBe(false);
  });

  it('compiles what the IR says, not what the source text says', async () => {
    const backend = new EbpfBackend([new SocketSelectHook()]);
    const unit = policyUnit('std:round-robin', { SOCKETS: 4 });
    const other = compilePolicy(unit.source!, { params: { SOCKETS: 3 } });
    const artifact = (await backend.compile({ policy: other.manifest, ir: other.ir, hook: STANDARD_HOOKS['socket-select'], source: unit.source! })) as EbpfArtifact;
    expect(artifact.policy.params).toEqual({ SOCKETS: 3 });
    // The IR was compiled with SOCKETS 3 while the text declares 6 and the unit was compiled with 4: the program divides by 3.
    const text = backend.describe(artifact).join('\n');
    expect(text).toMatch(/%= 3\b/);
    expect(text).not.toMatch(/%= [46]\b/);
  });
});
