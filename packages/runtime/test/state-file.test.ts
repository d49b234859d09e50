import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PersistenceError, processStartTime, readStateFile, STATE_FILE_VERSION, writeStateFile, type DeploymentRecord, type RuntimeState } from '../src/index.js';
import { compilePolicy, policyIrToJson } from '@syrup/core';
import { paramsFromRecord, paramsToRecord, recordedIr } from '../src/persistence/state-file.js';

const ROUND_ROBIN = { fileName: 'round-robin.ts', text: readFileSync(new URL('../../policies-std/src/round-robin.ts', import.meta.url), 'utf8') };

const RECORD: DeploymentRecord = {
  id: '0b6c3a1e-3f7d-4a53-9d38-2f1f4c1e9a10',
  hook: 'socket-select',
  owner: { uid: 1001, gid: 1001 },
  process: { pid: 4242, startTime: '123456' },
  target: { port: 9000, pid: 4242 },
  policy: { name: 'round-robin', source: { fileName: 'round-robin.ts', text: 'export default 1;\n' }, params: { SOCKETS: 4, BIG: '18446744073709551615' } },
  attachment: {
    backend: 'ebpf',
    hook: 'socket-select',
    pid: 4242,
    objects: [
      { kind: 'prog', role: 'program', identity: { pin: 'prog', id: 17, tag: '0123456789abcdef' } },
      { kind: 'map', role: 'data-map', name: 'next', identity: { pin: 'maps/next', id: 18 } },
      // Any backend's own kind and identity: the runtime keeps them as they are.
      { kind: 'queue-file', role: 'run-queue', identity: { file: 'queue.json', generation: 3, owners: [1, 'a'], nested: { ok: true, none: null } } },
    ],
    data: { protocol: 'udp', family: 4, address: '127.0.0.1', port: 9000, pid: 4242, inodes: [1, 2] },
  },
};

describe('the runtime state file', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-state-'));
    dirs.push(dir);
    return dir;
  }

  it('round-trips every recorded field, root-only, with no temporary file left behind', () => {
    const dir = tempDir();
    const path = join(dir, 'lib/syrup/state.json');
    const state: RuntimeState = { version: STATE_FILE_VERSION, deployments: [RECORD] };
    writeStateFile(path, state);
    expect(readStateFile(path)).toEqual(state);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // The directories made on the way are traversable (tenants reach their state directories beside the file); the file is root's.
    expect(statSync(join(dir, 'lib/syrup')).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'lib')).mode & 0o777).toBe(0o755);
    expect(readdirSync(join(dir, 'lib/syrup'))).toEqual(['state.json']);
  });

  it('keeps the intents of operations under way, and leaves the field out when there are none', () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    const intent = { op: 'deploy' as const, id: '0b6d1f3e-5c1a-4e0b-9d55-2f7a3c9e8b10', hook: 'socket-select', owner: { uid: 1000, gid: 1000 }, target: { port: 4242, pid: 77 } };
    writeStateFile(path, { version: STATE_FILE_VERSION, deployments: [RECORD], intents: [intent] });
    expect(readStateFile(path)).toEqual({ version: STATE_FILE_VERSION, deployments: [RECORD], intents: [intent] });
    writeStateFile(path, { version: STATE_FILE_VERSION, deployments: [RECORD], intents: [] });
    expect(Object.keys(JSON.parse(readFileSync(path, 'utf8')) as object)).toEqual(['version', 'deployments']);
    writeFileSync(path, JSON.stringify({ version: STATE_FILE_VERSION, deployments: [], intents: [{ ...intent, op: 'rename' }] }));
    expect(() => readStateFile(path)).toThrow(/is invalid at 'intents\.0\.op'/);
  });

  it('replaces the file whole: a reader sees the old state or the new one', () => {
    const path = join(tempDir(), 'state.json');
    writeStateFile(path, { version: STATE_FILE_VERSION, deployments: [RECORD] });
    const inode = statSync(path).ino;
    writeStateFile(path, { version: STATE_FILE_VERSION, deployments: [] });
    // rename(2) over the old name: a new inode, never the old one truncated and rewritten.
    expect(statSync(path).ino).not.toBe(inode);
    expect(readStateFile(path).deployments).toEqual([]);
  });

  it('reads a missing file as an empty state (a first start)', () => {
    expect(readStateFile(join(tempDir(), 'none.json'))).toEqual({ version: STATE_FILE_VERSION, deployments: [] });
  });

  it('refuses a file it did not write, naming where it is wrong', () => {
    const path = join(tempDir(), 'state.json');
    writeFileSync(path, '{"version": 1, "deployments": [');
    expect(() => readStateFile(path)).toThrow(PersistenceError);
    expect(() => readStateFile(path)).toThrow(/is not JSON/);
    writeFileSync(path, JSON.stringify({ version: 1, deployments: [{ ...RECORD, id: '../../etc' }] }));
    expect(() => readStateFile(path)).toThrow(/invalid at 'deployments.0.id'/);
    writeFileSync(path, JSON.stringify({ version: 3, deployments: [] }));
    expect(() => readStateFile(path)).toThrow(expect.objectContaining({ code: 'STATE_FILE_INVALID' }));
    // Version 2 records name objects generically: a version 1 object (pin and id beside kind) is not one.
    writeFileSync(path, JSON.stringify({ version: 2, deployments: [{ ...RECORD, attachment: { ...RECORD.attachment, objects: [{ pin: 'prog', kind: 'prog', role: 'program', id: 1 }] } }] }));
    expect(() => readStateFile(path)).toThrow(/invalid at 'deployments.0.attachment.objects.0/);
    const tagless = { ...RECORD, attachment: { ...RECORD.attachment, objects: [{ pin: 'prog', kind: 'prog', role: 'program', id: 1, tag: 'nothex' }] } };
    writeFileSync(path, JSON.stringify({ version: 1, deployments: [tagless] }));
    expect(() => readStateFile(path)).toThrow(/deployments.0.attachment.objects.0.tag/);
  });

  it("migrates a state file today's daemon wrote (version 1): pin, kernel id and tag become the object's identity, nothing else changes", () => {
    // Written by the daemon before generic records (a socket-select deployment sharing 'seen', captured from a real run).
    const fixture = fileURLToPath(new URL('./fixtures/state-v1-socket-select.json', import.meta.url));
    const v1 = JSON.parse(readFileSync(fixture, 'utf8')) as { version: number; deployments: (Omit<DeploymentRecord, 'attachment'> & { attachment: { objects: Record<string, unknown>[] } })[] };
    expect(v1.version).toBe(1);
    const state = readStateFile(fixture);
    expect(state.version).toBe(STATE_FILE_VERSION);
    const [was] = v1.deployments;
    const [now] = state.deployments;
    const { attachment: oldAttachment, ...oldRest } = was!;
    const { attachment: newAttachment, ...newRest } = now!;
    expect(newRest).toEqual(oldRest);
    expect({ ...newAttachment, objects: [] }).toEqual({ ...oldAttachment, objects: [] });
    expect(newAttachment.objects).toEqual([
      { kind: 'prog', role: 'program', identity: { pin: 'prog', id: 129, tag: 'b8b9b1281ba8c30d' } },
      { kind: 'map', role: 'executors', identity: { pin: 'sockarray', id: 56 } },
      { kind: 'map', role: 'data-map', name: 'seen', identity: { pin: 'maps/seen', id: 57 } },
      { kind: 'map', role: 'data-map', name: 'other', identity: { pin: 'maps/other', id: 58 } },
    ]);
    // Written back as version 2, it reads the same.
    const path = join(tempDir(), 'state.json');
    writeStateFile(path, state);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(2);
    expect(readStateFile(path)).toEqual(state);
  });

  it('round-trips a record with its IR and reads the IR back checked, bigint immediates exact', () => {
    const compiled = compilePolicy(ROUND_ROBIN, { params: { SOCKETS: 4 } });
    const record: DeploymentRecord = { ...RECORD, policy: { ...RECORD.policy, source: ROUND_ROBIN, ir: policyIrToJson(compiled.ir) } };
    const path = join(tempDir(), 'state.json');
    writeStateFile(path, { version: STATE_FILE_VERSION, deployments: [record] });
    const [read] = readStateFile(path).deployments;
    expect(read).toEqual(record);
    expect(recordedIr(read!)).toEqual(compiled.ir);
    // A record of the format before the IR (no `policy.ir`) reads as it did, with no IR.
    expect(recordedIr(RECORD)).toBeUndefined();
  });

  it("refuses a file whose IR does not pass core's verifier or is another policy's, naming the record", () => {
    const path = join(tempDir(), 'state.json');
    const ir = policyIrToJson(compilePolicy(ROUND_ROBIN, { params: { SOCKETS: 4 } }).ir) as { insns: unknown[] };
    const truncated = { ...RECORD, policy: { ...RECORD.policy, ir: { ...ir, insns: ir.insns.slice(0, 1) } } };
    writeFileSync(path, JSON.stringify({ version: STATE_FILE_VERSION, deployments: [RECORD, truncated] }));
    expect(() => readStateFile(path)).toThrow(expect.objectContaining({ code: 'STATE_FILE_INVALID' }));
    expect(() => readStateFile(path)).toThrow(new RegExp(`^the state file ${path} is invalid at 'deployments\\.1\\.policy\\.ir': instruction 0`));
    const renamed = { ...RECORD, policy: { ...RECORD.policy, name: 'sita', ir } };
    writeFileSync(path, JSON.stringify({ version: STATE_FILE_VERSION, deployments: [renamed] }));
    expect(() => readStateFile(path)).toThrow(
      `the state file ${path} is invalid at 'deployments.0.policy.ir': the recorded IR is of policy 'round-robin', not of the recorded policy 'sita'.`,
    );
  });

  it('keeps u64 params exact as decimal strings', () => {
    const params = { SOCKETS: 4, BIG: 18446744073709551615n };
    const recorded = paramsToRecord(params);
    expect(recorded).toEqual({ SOCKETS: 4, BIG: '18446744073709551615' });
    expect(paramsFromRecord(JSON.parse(JSON.stringify(recorded)) as Record<string, number | string>)).toEqual(params);
  });
});

describe('process start time (pid reuse detection)', () => {
  it("reads field 22 of /proc/<pid>/stat, even when the command name holds ') '", async () => {
    const own = processStartTime(process.pid);
    expect(own).toMatch(/^\d+$/);
    expect(own).toBe(readFileSync('/proc/self/stat', 'utf8').split(') ').at(-1)?.split(' ')[19]);
    // A command name with a space and a parenthesis in it, which a naive split would miscount.
    const dir = mkdtempSync(join(tmpdir(), 'syrup-comm-'));
    const script = join(dir, 'a) b');
    writeFileSync(script, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
    const child = spawn(script, [], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const pid = child.pid as number;
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(a) b)');
      const started = processStartTime(pid);
      expect(started).toMatch(/^\d+$/);
      expect(Number(started)).toBeGreaterThanOrEqual(Number(own));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
    expect(processStartTime(child.pid as number)).toBeUndefined();
  });
});
