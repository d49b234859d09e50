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

describe('syrupd connection flags', () => {
  it('set the connection limits they name, apart from the per-tenant ones, and leave the defaults when absent', () => {
    const args = parseSyrupdArgs(['--max-connections', '8', '--idle-timeout-ms', '60000', '--max-pipelined-requests', '32', '--max-unread-reply-bytes', '65536'], {});
    expect(args.connectionLimits).toEqual({ maxConnections: 8, idleTimeoutMs: 60_000, maxPipelinedRequests: 32, maxUnreadReplyBytes: 65_536 });
    expect(args.limits).toBeUndefined();
    const mixed = parseSyrupdArgs(['--max-connections', '4', '--max-deployments', '2'], {});
    expect(mixed.connectionLimits).toEqual({ maxConnections: 4 });
    expect(mixed.limits).toEqual({ maxDeployments: 2 });
    expect(parseSyrupdArgs([], {}).connectionLimits).toBeUndefined();
  });

  it('refuse a value that is not a positive integer, or a timeout Node cannot time, naming the flag', () => {
    expect(() => parseSyrupdArgs(['--max-connections', '0'], {})).toThrow("--max-connections takes a positive integer, not '0'.");
    expect(() => parseSyrupdArgs(['--max-unread-reply-bytes', '1MiB'], {})).toThrow("--max-unread-reply-bytes takes a positive integer, not '1MiB'.");
    expect(() => parseSyrupdArgs(['--idle-timeout-ms', '2147483648'], {})).toThrow("--idle-timeout-ms takes at most 2147483647 ms, not '2147483648'.");
    expect(parseSyrupdArgs(['--idle-timeout-ms', '2147483647'], {}).connectionLimits).toEqual({ idleTimeoutMs: 2_147_483_647 });
  });

  it('reads --thread-cpus as a CPU list and refuses anything else in one sentence', () => {
    expect(parseSyrupdArgs(['--thread-cpus', '1-3,5'], {}).threadCpus).toEqual([1, 2, 3, 5]);
    expect(parseSyrupdArgs([], {}).threadCpus).toBeUndefined();
    expect(() => parseSyrupdArgs(['--thread-cpus', '3-1'], {})).toThrow("--thread-cpus takes a CPU list such as 1-3,5, not '3-1'.");
    expect(() => parseSyrupdArgs(['--thread-cpus', 'all'], {})).toThrow("--thread-cpus takes a CPU list such as 1-3,5, not 'all'.");
  });
});
