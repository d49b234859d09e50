import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { FRONT_END_CHANNEL, STANDARD_HOOKS, SyrupError, compilePolicy } from '@syrup/core';
import { EbpfBackend } from '../src/ebpf-backend.js';
import { SocketSelectHook } from '../src/hooks/socket-select/socket-select-hook.js';
import { XdpHook } from '../src/hooks/xdp/xdp-hook.js';
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

  it('generates a near-limit policy on its code generation worker while the event loop keeps turning, and refuses after close()', async () => {
    const backend = new EbpfBackend([new XdpHook('xdp-skb')]);
    const text = [
      "import { definePolicy } from '@syrup/core';",
      "export default definePolicy({ name: 'near-limit', input: 'udp', maps: {}, params: {},",
      '  schedule(pkt) { let x = 0; for (let i = 0; i < 1000; i++) { x += pkt.payload.u8(i); } return x; } });',
    ].join('\n');
    const { ir, manifest } = compilePolicy({ fileName: 'near-limit.ts', text });
    const request = { policy: manifest, ir, hook: STANDARD_HOOKS['xdp-skb'], target: { ifname: 'lo', port: 9000 } };
    try {
      let turns = 0;
      let turning = true;
      const turn = (): void => {
        turns++;
        if (turning) setImmediate(turn);
      };
      setImmediate(turn);
      const artifact = (await backend.compile(request)) as EbpfArtifact;
      turning = false;
      expect(artifact.program.target).toBe('xdp-skb');
      expect(artifact.program.slotCount).toBeGreaterThan(1000);
      expect(turns).toBeGreaterThan(10);
    } finally {
      await backend.close();
    }
    await expect(backend.compile(request)).rejects.toSatisfy((error) => error instanceof SyrupError && error.code === 'CODEGEN_CLOSED');
  }, 60_000);
});
