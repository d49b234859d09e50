import { describe, expect, it } from 'vitest';
import { parseSyrupdArgs } from '../src/index.js';

describe('syrupd limit flags', () => {
  it('set the per-tenant limits they name, and leave the runtime defaults when absent', () => {
    const args = parseSyrupdArgs(['--max-deployments', '4', '--max-map-bytes', '1048576', '--max-request-bytes', '65536', '--compile-timeout-ms', '500', '--max-queued-compiles', '8'], {});
    expect(args.limits).toEqual({ maxDeployments: 4, maxMapBytes: 1_048_576, maxRequestBytes: 65_536, compileTimeoutMs: 500, maxQueuedCompiles: 8 });
    expect(parseSyrupdArgs(['--compile-timeout-ms', '250'], {}).limits).toEqual({ compileTimeoutMs: 250 });
    expect(parseSyrupdArgs([], {}).limits).toBeUndefined();
  });

  it('refuse a value that is not a positive integer, naming the flag', () => {
    expect(() => parseSyrupdArgs(['--max-deployments', 'many'], {})).toThrow("--max-deployments takes a positive integer, not 'many'.");
    expect(() => parseSyrupdArgs(['--compile-timeout-ms', '0'], {})).toThrow("--compile-timeout-ms takes a positive integer, not '0'.");
    expect(() => parseSyrupdArgs(['--max-queued-compiles', '0'], {})).toThrow("--max-queued-compiles takes a positive integer, not '0'.");
  });
});
