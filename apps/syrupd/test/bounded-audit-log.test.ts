import { describe, expect, it } from 'vitest';
import { BoundedAuditLog } from '../src/bounded-audit-log.js';

function capture() {
  const lines: { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    logger: {
      info: (fields: object, message: string) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
      warn: (fields: object, message: string) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    },
  };
}

const entry = (uid: number, op: string, outcome: string) => ({ uid, pid: 4000 + uid, op, hook: 'socket-select', target: { port: 9000 }, outcome, durationMs: 1.5 });

describe('BoundedAuditLog', () => {
  it('writes one line per request with who, what, where, how it ended and how long it took', () => {
    const { lines, logger } = capture();
    const log = new BoundedAuditLog(logger, { maxLinesPerWindow: 10, windowMs: 1000 }, () => 0);
    log.record(entry(1001, 'deploy', 'NOT_OWNER'));
    log.close();
    expect(lines).toEqual([
      { level: 'info', message: 'request', fields: { audit: true, uid: 1001, pid: 5001, op: 'deploy', hook: 'socket-select', target: { port: 9000 }, outcome: 'NOT_OWNER', durationMs: 1.5 } },
    ]);
  });

  it('under a flood writes at most the cap per window and one summary counting the rest by uid and by op and outcome', () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new BoundedAuditLog(logger, { maxLinesPerWindow: 5, windowMs: 1000 }, () => now);
    for (let i = 0; i < 1000; i++) log.record(entry(1001 + (i % 2), 'list', 'ok'));
    log.record(entry(0, 'deploy', 'ok'));
    expect(lines.filter((l) => l.message === 'request')).toHaveLength(5);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(0);
    now = 1000;
    log.record(entry(0, 'undeploy', 'ok'));
    const summary = lines.find((l) => l.level === 'warn');
    expect(summary).toEqual({
      level: 'warn',
      message: 'requests not logged one by one',
      fields: { audit: true, unlogged: 996, sinceMs: 1000, byUid: { '1001': 497, '1002': 498, '0': 1 }, byOpOutcome: { 'list ok': 995, 'deploy ok': 1 } },
    });
    // The new window logs again, after the summary.
    expect(lines.at(-1)).toMatchObject({ message: 'request', fields: { op: 'undeploy' } });
    log.close();
    expect(lines).toHaveLength(7);
  });

  it('bounds the summary: more than 32 uids are added up under other', () => {
    const { lines, logger } = capture();
    const log = new BoundedAuditLog(logger, { maxLinesPerWindow: 0, windowMs: 1000 }, () => 0);
    for (let uid = 0; uid < 40; uid++) log.record(entry(uid, 'status', 'ok'));
    log.close();
    const byUid = lines[0]?.fields['byUid'] as Record<string, number>;
    expect(Object.keys(byUid)).toHaveLength(33);
    expect(byUid['other']).toBe(8);
  });
});
