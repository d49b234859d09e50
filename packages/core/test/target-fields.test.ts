import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  STANDARD_HOOKS,
  STANDARD_HOOK_IDS,
  claimRefusal,
  claimsConflict,
  flattenTarget,
  parseTarget,
  parseTargetFieldText,
  processClaim,
  requireProcessOwner,
  targetFieldsOf,
  targetOfFields,
} from '../src/index.js';

describe('target fields', () => {
  it('lists every standard hook\'s fields with a type and a description', () => {
    for (const id of STANDARD_HOOK_IDS) {
      const fields = targetFieldsOf(STANDARD_HOOKS[id].target);
      expect(fields.length, id).toBeGreaterThan(0);
      for (const field of fields) expect(field.description, `${id}.${field.name}`).not.toBe('');
    }
    const cpu = targetFieldsOf(STANDARD_HOOKS['cpu-redirect'].target);
    expect(cpu.find((f) => f.name === 'cpus')).toMatchObject({ type: 'integer list', required: false });
    expect(cpu.find((f) => f.name === 'mode')).toMatchObject({ type: 'string', choices: ['skb', 'drv'] });
    expect(targetFieldsOf(STANDARD_HOOKS['xdp-skb'].target).map((f) => f.name)).toEqual(['interface', 'netns', 'port', 'queue', 'protocol', 'xskPid']);
  });

  it('moves fields between the wire form (five at the top, the rest in extra) and the flat form', () => {
    const wire = { interface: 'veth0', port: 9000, extra: { netns: 'box', cpus: [0, 1] } };
    expect(flattenTarget(wire)).toEqual({ interface: 'veth0', port: 9000, netns: 'box', cpus: [0, 1] });
    expect(targetOfFields(flattenTarget(wire))).toEqual(wire);
    expect(targetOfFields({ pid: 3 })).toEqual({ pid: 3 });
    // A wire field given in extra moves to the top, where backends read it.
    expect(parseTarget(STANDARD_HOOKS['xdp-skb'], { extra: { interface: 'veth0', queue: 1, xskPid: 12 } })).toEqual({ interface: 'veth0', queue: 1, extra: { xskPid: 12 } });
  });

  it('reads key=value text per the field type, and refuses text of the wrong type', () => {
    const fields = targetFieldsOf(STANDARD_HOOKS['cpu-redirect'].target);
    const field = (name: string) => fields.find((f) => f.name === name);
    expect(parseTargetFieldText(field('cpus'), '0,1')).toEqual([0, 1]);
    expect(parseTargetFieldText(field('port'), '9000')).toBe(9000);
    expect(parseTargetFieldText(field('netns'), '123')).toBe('123');
    expect(() => parseTargetFieldText(field('cpus'), '0,x')).toThrow("'x' is not an integer");
    expect(parseTargetFieldText(undefined, '42')).toBe(42);
    expect(parseTargetFieldText(undefined, 'a,b')).toBe('a,b');
  });

  it('refuses a target field of the wrong type, naming the hook and the field', () => {
    expect(() => parseTarget(STANDARD_HOOKS['xdp-skb'], { interface: 'veth0', extra: { xskPid: 'me' } })).toThrow(
      "target field 'xskPid' of hook 'xdp-skb' must be an integer (a process of the caller whose AF_XDP sockets bound to that interface and queue are the executors, in ascending fd order), not \"me\".",
    );
    // Unknown fields pass through for the backend to judge.
    expect(parseTarget(STANDARD_HOOKS.thread, { pid: 1, extra: { other: true } })).toEqual({ pid: 1, extra: { other: true } });
  });
});

describe('claims', () => {
  it('conflict on one resource when either is exclusive, and refuse with the holder and the caller', () => {
    const port = { kind: 'udp-port', key: 'ns/veth0/9000', exclusive: true, taken: 'port 9000 is routed by {holder}, so {caller} may not route it.' };
    expect(claimsConflict(port, port)).toBe(true);
    expect(claimsConflict(port, { ...port, key: 'ns/veth0/9001' })).toBe(false);
    expect(claimsConflict(processClaim(5), processClaim(5))).toBe(false);
    expect(claimsConflict({ ...processClaim(5), exclusive: true }, processClaim(5))).toBe(true);
    expect(claimRefusal(port, 1001, 1002)).toBe('port 9000 is routed by uid 1001, so uid 1002 may not route it.');
  });

  it("requireProcessOwner refuses another uid's process and a missing one", () => {
    const root = mkdtempSync(join(tmpdir(), 'syrup-core-proc-'));
    try {
      mkdirSync(join(root, '50'));
      writeFileSync(join(root, '50', 'status'), 'Name:\tx\nUid:\t1002\t1002\t1002\t1002\n');
      expect(() => requireProcessOwner(50, 1002, 'schedule its threads', root)).not.toThrow();
      expect(() => requireProcessOwner(50, 1001, 'schedule its threads', root)).toThrow('process 50 belongs to uid 1002, so uid 1001 may not schedule its threads.');
      expect(() => requireProcessOwner(99, 1001, 'schedule its threads', root)).toThrow(expect.objectContaining({ code: 'TARGET_NOT_FOUND', message: 'no process has pid 99.' }));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
