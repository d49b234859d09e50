import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { describeMode, kvServerArgs, parseKvServerArgs, type KvServerOptions } from '../src/server/kv-server-options.js';
import { describeServiceTime, formatServiceTime, parseServiceTime } from '../src/server/service-time.js';
import { UsageError } from '../src/server/usage-error.js';

describe('service times', () => {
  it('parses cpu and block times, fixed or exponential, in every unit', () => {
    expect(parseServiceTime('cpu:10us', '--get')).toEqual({ kind: 'cpu', distribution: 'fixed', meanUs: 10 });
    expect(parseServiceTime('block:5ms', '--get')).toEqual({ kind: 'block', distribution: 'fixed', meanUs: 5000 });
    expect(parseServiceTime('cpu:exp:10us', '--get')).toEqual({ kind: 'cpu', distribution: 'exp', meanUs: 10 });
    expect(parseServiceTime('block:exp:200us', '--get')).toEqual({ kind: 'block', distribution: 'exp', meanUs: 200 });
    expect(parseServiceTime('cpu:500ns', '--get').meanUs).toBe(0.5);
    expect(parseServiceTime('block:1.5s', '--get').meanUs).toBe(1_500_000);
    expect(parseServiceTime('none', '--get').meanUs).toBe(0);
  });

  it('names them for the ready line and writes them back as flags', () => {
    expect(describeServiceTime(parseServiceTime('cpu:10us', '--get'))).toBe('cpu 10us');
    expect(describeServiceTime(parseServiceTime('block:5000us', '--get'))).toBe('block 5ms');
    expect(describeServiceTime(parseServiceTime('block:exp:200us', '--get'))).toBe('block exp 200us');
    expect(describeServiceTime(parseServiceTime('none', '--get'))).toBe('none');
    for (const text of ['cpu:10us', 'block:exp:5ms', 'none']) {
      expect(parseServiceTime(formatServiceTime(parseServiceTime(text, '--get')), '--get')).toEqual(parseServiceTime(text, '--get'));
    }
  });

  it('refuses anything else with one sentence naming the flag', () => {
    for (const text of ['cpu', 'cpu:10', 'gpu:10us', 'cpu:uniform:10us', 'cpu:-1us', 'block:10 us', 'cpu:2min', 'block:61s']) {
      expect(() => parseServiceTime(text, '--scan')).toThrow(UsageError);
      expect(() => parseServiceTime(text, '--scan')).toThrow(/^--scan '/);
    }
  });
});

describe('kv-server flags', () => {
  it('defaults to a 4-thread synthetic server on 127.0.0.1 without a policy', () => {
    const config = parseKvServerArgs(['--port', '9000']);
    expect(config).toMatchObject({ port: 9000, address: '127.0.0.1', threads: 4, store: 'synthetic', policy: 'linux-default', params: {}, tokens: undefined });
    expect(describeMode(config)).toBe('synthetic: GET cpu 10us, SCAN cpu 700us, PUT cpu 10us');
    const lmdb = parseKvServerArgs(['--port', '9000', '--store', 'lmdb', '--keys', '1000', '--scan', 'block:1ms']);
    expect(describeMode(lmdb)).toBe('lmdb: 1000 keys of 16 bytes, SCAN 100 keys; added service time GET none, SCAN block 1ms, PUT none');
  });

  it('reads back every option that kvServerArgs writes', () => {
    const options: KvServerOptions = {
      port: 9100,
      address: '127.0.0.1',
      threads: 6,
      store: 'lmdb',
      get: 'cpu:exp:10us',
      scan: 'block:5ms',
      put: 'none',
      keys: 5000,
      valueSize: 32,
      scanLength: 50,
      policy: 'token-qos',
      params: { RETRIES: 2, BIG: 2n ** 60n },
      tokenRate: 50_000,
      lsUser: 1,
      beUsers: [2, 3],
      tokenBurst: 150,
      tokenBestEffortBurst: 50,
      receiveBuffer: 1 << 20,
    };
    const config = parseKvServerArgs(kvServerArgs(options));
    expect(config).toMatchObject({ port: 9100, threads: 6, store: 'lmdb', keys: 5000, valueSize: 32, scanLength: 50, policy: 'token-qos', receiveBuffer: 1 << 20 });
    expect(config.params).toEqual({ RETRIES: 2, BIG: 2n ** 60n });
    expect(config.tokens).toEqual({ ratePerSec: 50_000, lsUser: 1, beUsers: [2, 3], burst: 150, bestEffortBurst: 50 });
    expect(config.times.get).toEqual({ kind: 'cpu', distribution: 'exp', meanUs: 10 });
    expect(config.times.put.meanUs).toBe(0);
  });

  it('reads back a thread policy, and has none by default', () => {
    expect(parseKvServerArgs(['--port', '9000']).threadPolicy).toBeUndefined();
    const config = parseKvServerArgs(kvServerArgs({ port: 9000, policy: 'scan-avoid', threadPolicy: 'get-priority' }));
    expect(config).toMatchObject({ policy: 'scan-avoid', threadPolicy: 'get-priority' });
  });

  it('refuses malformed flags (CommanderError) and options that do not fit together (UsageError)', () => {
    expect(() => parseKvServerArgs([])).toThrow(CommanderError);
    expect(() => parseKvServerArgs(['--port', '9000', '--threads', '0'])).toThrow(CommanderError);
    expect(() => parseKvServerArgs(['--port', '9000', '--store', 'rocksdb'])).toThrow(CommanderError);
    expect(() => parseKvServerArgs(['--port', '9000', '--param', 'SOCKETS'])).toThrow(CommanderError);
    expect(() => parseKvServerArgs(['--port', '9000', '--bogus'])).toThrow(CommanderError);
    expect(() => parseKvServerArgs(['--port', '9000', '--get', 'fast'])).toThrow(UsageError);
    expect(() => parseKvServerArgs(['--port', '9000', '--policy', 'token-qos'])).toThrow(UsageError);
    expect(() => parseKvServerArgs(['--port', '9000', '--token-rate', '100'])).toThrow(UsageError);
  });
});
