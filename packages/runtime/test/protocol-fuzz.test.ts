import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerHookRegistry } from '@syrup/core';
import { SeededRandom } from '@syrup/core/testing';
import { container } from 'tsyringe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REQUEST_NESTING, PeerCredentials, ProtocolServer, ProtocolServerOptions, ResponseSchema, RuntimeService } from '../src/index.js';
import { lineConnection, type LineConnection } from './support/line-connection.js';
import { memoryBackendModule } from './support/memory-backend.js';

/**
 * The protocol server under lines no client library would send: random bytes, mutated and
 * truncated requests, requests with fields replaced by random JSON, JSON nested far past MAX_REQUEST_NESTING (at the top and inside
 * `target.extra`), and lines over the size limit. Whatever arrives, every line gets exactly
 * one answer, in order, carrying the line's id when it has a readable one, the connection
 * stays open, and a valid request after the garbage is served on it. The server runs in
 * this process: an exception escaping it would fail the run, and `unhandledRejection` is
 * watched too. Seeds are fixed, so a failure replays.
 */

const MAX_REQUEST_BYTES = 64 * 1024;
const SEEDS = [1, 2, 3, 4];
const NESTING_REFUSAL = { code: 'PROTOCOL_MALFORMED', message: `the request nests deeper than ${MAX_REQUEST_NESTING} levels.` };

type Id = string | number | null;

/** One line to send and what its answer must be. */
interface FuzzLine {
  readonly kind: string;
  readonly bytes: Buffer;
  /** Checks the one answer to this line. */
  check(answer: Answer): void;
}

type Answer = ReturnType<typeof ResponseSchema.parse>;

/** Requests whose handling is cheap and that leave nothing behind, even when a mutation keeps them valid. */
function templates(id: number): Record<string, unknown>[] {
  const policy = { fileName: 'fuzz.ts', text: 'export default 1;' };
  return [
    { v: 1, id, op: 'status' },
    { v: 1, id: `s${id}`, op: 'list' },
    { v: 1, id, op: 'hooks' },
    { v: 1, id, op: 'map.get', deployment: 'd-none', map: 'next', key: 0 },
    { v: 1, id, op: 'map.set', deployment: 'd-none', map: 'next', key: 1, value: ['1', '2'] },
    { v: 1, id, op: 'map.compareExchange', deployment: 'd-none', map: 'next', key: 1, expected: '0', desired: '1' },
    { v: 1, id: `u${id}`, op: 'undeploy', deployment: 'd-none' },
    { v: 1, id, op: 'watch', deployment: 'd-none' },
    { v: 1, id, op: 'replace', deployment: 'd-none', policy, params: { N: '3' } },
    // Valid deploys compile (the text is no policy, so they are refused) and never reach a backend.
    { v: 1, id, op: 'deploy', hook: 'no-such-hook', policy, target: { port: 1, pid: 2, extra: { netns: '/x', cpus: [0, 1], deep: { a: [{ b: null }] } } }, progress: true },
    { v: 1, id, op: 'disasm', hook: 'no-such-hook', policy, target: { extra: { k: 'v' } } },
  ];
}

/**
 * Whatever the line, the answer is one protocol response line with a one-sentence error when
 * it refuses, and never INTERNAL: a request the server did not foresee is a refusal of the
 * request, not a failure of the server.
 */
function wellFormed(answer: Answer): void {
  if (!answer.ok) {
    expect(answer.error.code).not.toBe('INTERNAL');
    expect(answer.error.message).not.toBe('');
    expect(answer.error.message).not.toMatch(/\n|\n\s+at /);
  }
}

/** The id JSON.parse finds at the line's top level, or undefined when the line is not a JSON object. */
function jsonId(bytes: Buffer): Id | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const id = (raw as Record<string, unknown>)['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * A line whose answer depends only on what JSON.parse makes of it: a JSON object is answered
 * with its own id; anything else is refused with id null, except a line refused for its
 * nesting, which may carry the id its top level names (`original`).
 */
function garbage(kind: string, bytes: Buffer, original: Id = null): FuzzLine {
  return {
    kind,
    bytes,
    check: (answer) => {
      wellFormed(answer);
      const id = jsonId(bytes);
      if (id !== undefined) {
        expect(answer.id).toEqual(id);
        return;
      }
      expect(answer.ok).toBe(false);
      if (!answer.ok && answer.error.message === NESTING_REFUSAL.message) expect([null, original]).toContainEqual(answer.id);
      else expect(answer.id).toBeNull();
    },
  };
}

function randomBytesLine(r: SeededRandom): FuzzLine {
  const length = r.int(200);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let b = r.int(256);
    if (b === 0x0a) b = 0x0b;
    bytes[i] = b;
  }
  return garbage('random bytes', bytes);
}

const STRUCTURAL = ['{', '}', '[', ']', '"', ':', ',', '\\', '0', '-', 'e', ' ', 'null', 'true', '\u0000', '\u00e9', '\ud800'];

function mutatedLine(r: SeededRandom, serial: number): FuzzLine {
  const template = r.pick(templates(serial));
  let text = JSON.stringify(template);
  const mutations = 1 + r.int(4);
  for (let m = 0; m < mutations; m++) {
    const at = r.int(text.length + 1);
    switch (r.int(5)) {
      case 0:
        text = text.slice(0, at) + text.slice(at + 1 + r.int(4));
        break;
      case 1:
        text = text.slice(0, at) + r.pick(STRUCTURAL) + text.slice(at);
        break;
      case 2:
        text = text.slice(0, at) + String.fromCharCode(32 + r.int(95)) + text.slice(at + 1);
        break;
      case 3: {
        const from = r.int(text.length);
        text = text.slice(0, at) + text.slice(from, from + r.int(40)) + text.slice(at);
        break;
      }
      default:
        text = text.slice(0, at) + '['.repeat(1 + r.int(3)) + text.slice(at);
    }
  }
  return garbage('mutated request', Buffer.from(text.replace(/\n/g, ' '), 'utf8'), template['id'] as Id);
}

const OPS = ['deploy', 'replace', 'undeploy', 'list', 'map.get', 'map.set', 'map.dump', 'map.delete', 'map.fetchAdd', 'map.compareExchange', 'watch', 'hooks', 'status', 'disasm'];

/** A random JSON value a few levels deep at most. */
function randomValue(r: SeededRandom, depth = 0): unknown {
  switch (r.int(depth >= 3 ? 6 : 8)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), 65536, 1e300]);
    case 3:
      return r.pick(['', 'd-none', 'x'.repeat(200), '18446744073709551616', '1', '\u0000', 'no-such-hook']);
    case 4:
      return r.pick(OPS);
    case 5:
      return String(r.u64());
    case 6:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(4) }, (_, i) => [r.pick(['port', 'extra', 'id', 'text', `k${i}`]), randomValue(r, depth + 1)]));
  }
}

/** A template still valid JSON, with a field (at the top or one level down) replaced, added or removed. */
function revaluedLine(r: SeededRandom, serial: number): FuzzLine {
  const template = structuredClone(r.pick(templates(serial)));
  for (let m = 1 + r.int(3); m > 0; m--) {
    const objects = [template, ...Object.values(template).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v))];
    const target = r.pick(objects);
    const keys = Object.keys(target);
    const key = r.chance(0.8) && keys.length > 0 ? r.pick(keys) : r.pick(['extra', 'progress', 'shareMaps', 'params', 'zzz']);
    if (r.chance(0.15)) delete target[key];
    else target[key] = randomValue(r);
  }
  return garbage('revalued request', Buffer.from(JSON.stringify(template), 'utf8'), template['id'] as Id);
}

function truncatedLine(r: SeededRandom, serial: number): FuzzLine {
  const template = r.pick(templates(serial));
  const text = JSON.stringify(template);
  return garbage('truncated request', Buffer.from(text.slice(0, r.int(text.length)), 'utf8'), template['id'] as Id);
}

/** `depth` levels of arrays or objects around a leaf, built iteratively (JSON.stringify would recurse). */
function nested(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A request nesting deeper than the bound: refused with the nesting sentence and its own id. */
function deepLine(r: SeededRandom, serial: number): FuzzLine {
  const shape = r.chance(0.5) ? 'array' : 'object';
  const where = r.pick(['extra', 'top', 'bare'] as const);
  // Past the bound by one, by a lot, and (2,000 levels, a few KB) the case.
  const excess = r.pick([1, 50, 2000, 9000]);
  const id = r.chance(0.5) ? serial : `deep-${serial}`;
  let text: string;
  let expectedId: Id = id;
  if (where === 'extra') {
    // The request, its target and extra are three levels: the value brings the rest.
    const value = nested(MAX_REQUEST_NESTING - 3 + excess, shape);
    text = `{"v":1,"id":${JSON.stringify(id)},"op":"deploy","hook":"socket-select","policy":{"fileName":"p.ts","text":""},"target":{"port":1,"extra":{"x":${value}}}}`;
  } else if (where === 'top') {
    text = `{"v":1,"op":"list","junk":${nested(MAX_REQUEST_NESTING - 1 + excess, shape)},"id":${JSON.stringify(id)}}`;
  } else {
    text = nested(MAX_REQUEST_NESTING + excess, shape);
    expectedId = null;
  }
  return {
    kind: `nested ${shape} (${where}, ${excess} past the bound)`,
    bytes: Buffer.from(text, 'utf8'),
    check: (answer) => expect(answer).toEqual({ v: 1, id: expectedId, ok: false, error: NESTING_REFUSAL }),
  };
}

function oversizedLine(r: SeededRandom, serial: number): FuzzLine {
  const text = JSON.stringify({ v: 1, id: serial, op: 'deploy', hook: 'socket-select', target: {}, policy: { fileName: 'big.ts', text: 'x'.repeat(MAX_REQUEST_BYTES + r.int(3 * MAX_REQUEST_BYTES)) } });
  return {
    kind: 'oversized line',
    bytes: Buffer.from(text, 'utf8'),
    check: (answer) =>
      expect(answer).toEqual({ v: 1, id: null, ok: false, error: { code: 'PROTOCOL_TOO_LARGE', message: `the request is larger than the limit of ${MAX_REQUEST_BYTES} bytes.` } }),
  };
}

function validLine(serial: number): FuzzLine {
  const id = `ok-${serial}`;
  return {
    kind: 'valid status',
    bytes: Buffer.from(JSON.stringify({ v: 1, id, op: 'status' }), 'utf8'),
    check: (answer) => expect(answer).toMatchObject({ v: 1, id, ok: true, result: { version: 1, deployments: 0 } }),
  };
}

function fuzzLines(seed: number): FuzzLine[] {
  const r = new SeededRandom(seed);
  const lines: FuzzLine[] = [];
  const makers: [number, (serial: number) => FuzzLine][] = [
    [40, () => randomBytesLine(r)],
    [50, (serial) => mutatedLine(r, serial)],
    [40, (serial) => revaluedLine(r, serial)],
    [30, (serial) => truncatedLine(r, serial)],
    [12, (serial) => deepLine(r, serial)],
    [3, (serial) => oversizedLine(r, serial)],
    [15, (serial) => validLine(serial)],
  ];
  const bag = makers.flatMap(([count, make]) => Array.from({ length: count }, () => make));
  // Shuffled, so every kind follows every other.
  for (let i = bag.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [bag[i], bag[j]] = [bag[j]!, bag[i]!];
  }
  bag.forEach((make, serial) => lines.push(make(serial + 1000 * seed)));
  return lines;
}

describe('the protocol server under fuzzed lines', () => {
  let dir: string;
  let socketPath: string;
  let server: ProtocolServer;
  let service: RuntimeService;
  const connections: LineConnection[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-protocol-fuzz-'));
    socketPath = join(dir, 'syrupd.sock');
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    child.registerSingleton(RuntimeService);
    child.register(PeerCredentials, { useValue: { of: () => ({ uid: 0, gid: 0, pid: process.pid }) } });
    child.register(ProtocolServerOptions, { useValue: { socketPath, maxRequestBytes: MAX_REQUEST_BYTES } });
    service = child.resolve(RuntimeService);
    server = child.resolve(ProtocolServer);
    await server.listen();
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const c of connections.splice(0)) c.socket.destroy();
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connection(): Promise<LineConnection> {
    const c = await lineConnection(socketPath);
    connections.push(c);
    return c;
  }

  /** The next answer, skipping progress lines (which must name a request); fails if the connection ends first. */
  async function answer(c: LineConnection): Promise<Answer> {
    for (;;) {
      const line = await c.next();
      if (Object.hasOwn(line, 'progress') && !Object.hasOwn(line, 'ok')) {
        expect(line['id']).not.toBeNull();
        continue;
      }
      return ResponseSchema.parse(line);
    }
  }

  it.each(SEEDS)('seed %i: every line gets exactly one answer, in order, and the connection keeps serving', async (seed) => {
    const lines = fuzzLines(seed);
    const c = await connection();
    // The whole stream in randomly sized writes, so lines also arrive split across reads.
    const r = new SeededRandom(seed * 7919);
    const stream = Buffer.concat(lines.flatMap((l) => [l.bytes, Buffer.from('\n')]));
    for (let at = 0; at < stream.length; ) {
      const size = 1 + r.int(r.chance(0.3) ? 64 : 16 * 1024);
      c.send(stream.subarray(at, at + size));
      at += size;
    }
    const sentinel = JSON.stringify({ v: 1, id: `sentinel-${seed}`, op: 'list' });
    c.send(`${sentinel}\n`);
    for (const [index, line] of lines.entries()) {
      const got = await answer(c);
      try {
        line.check(got);
      } catch (error) {
        throw new Error(`line ${index} (${line.kind}: ${line.bytes.subarray(0, 120).toString('utf8')}...) got ${JSON.stringify(got)}: ${(error as Error).message}`);
      }
    }
    // Exactly one answer each: the next one is the sentinel's, and nothing else is pending.
    expect(await answer(c)).toEqual({ v: 1, id: `sentinel-${seed}`, ok: true, result: [] });
    c.send(`${JSON.stringify({ v: 1, id: 'after', op: 'status' })}\n`);
    expect(await answer(c)).toMatchObject({ id: 'after', ok: true, result: { pid: process.pid } });
    expect(c.closed).toBe(false);
    expect(unhandled).toEqual([]);
  }, 30_000);

  it('serves a request nesting exactly to the bound and refuses one level more, with its id, before parsing', async () => {
    const c = await connection();
    // The request object is level 1: `junk` at level 2 holds the rest.
    const atBound = `{"v":1,"id":1,"op":"list","junk":${nested(MAX_REQUEST_NESTING - 1, 'array')}}`;
    const pastBound = `{"v":1,"id":2,"op":"list","junk":${nested(MAX_REQUEST_NESTING, 'object')}}`;
    c.send(`${atBound}\n${pastBound}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: 1, ok: true, result: [] });
    expect(await answer(c)).toEqual({ v: 1, id: 2, ok: false, error: NESTING_REFUSAL });
    // Brackets inside strings are text, not nesting; the id may come after the deep part, and an escaped key is still `id`.
    c.send(`{"v":1,"op":"list","s":"${'['.repeat(500)}","id":"str"}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: 'str', ok: true, result: [] });
    c.send(`{"v":1,"op":"list","junk":${nested(500, 'array')},"\\u0069d":-7.5e1}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: -75, ok: false, error: NESTING_REFUSAL });
  });

  it('refuses a u64 field BigInt cannot read with the schema\'s sentence (the range check used to throw)', async () => {
    const c = await connection();
    c.send(`${JSON.stringify({ v: 1, id: 5, op: 'map.fetchAdd', deployment: 'd', map: 'm', key: 0, delta: 'abc' })}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: 5, ok: false, error: { code: 'PROTOCOL_MALFORMED', message: "field 'delta' is invalid: a u64 is a decimal string." } });
    c.send(`${JSON.stringify({ v: 1, id: 6, op: 'map.set', deployment: 'd', map: 'm', key: 0, value: '18446744073709551616' })}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: 6, ok: false, error: { code: 'PROTOCOL_MALFORMED', message: "field 'value' is invalid: a u64 is at most 2^64-1." } });
  });

  it('answers a deploy of a policy nested too deeply with one POLICY_TOO_DEEP sentence at the policy\'s line, through the compile worker', async () => {
    const c = await connection();
    const terms = Array.from({ length: 9000 }, () => 'a').join(' || ');
    const text = `import { definePolicy } from '@syrup/core';\nexport default definePolicy({\n  name: 'deep',\n  input: 'udp',\n  schedule(pkt) {\n    const a = pkt.len;\n    if (${terms}) return 1;\n    return 0;\n  },\n});\n`;
    c.send(`${JSON.stringify({ v: 1, id: 'deep-policy', op: 'deploy', hook: 'socket-select', policy: { fileName: 'deep.ts', text }, target: { port: 9 } })}\n`);
    expect(await answer(c)).toEqual({
      v: 1,
      id: 'deep-policy',
      ok: false,
      error: { code: 'POLICY_TOO_DEEP', message: 'deep.ts:7:9: code is nested more than 200 levels deep (statements, expressions and inlined calls)' },
    });
  });

  it('answers the issue\'s 2,000-level target.extra deploy with the nesting refusal, and the next request on the connection', async () => {
    const c = await connection();
    const request = `{"v":1,"id":41,"op":"deploy","hook":"socket-select","policy":{"fileName":"p.ts","text":""},"target":{"extra":{"a":${nested(2000, 'array')}}}}`;
    expect(request.length).toBeLessThan(8 * 1024);
    c.send(`${request}\n{"v":1,"id":42,"op":"list"}\n`);
    expect(await answer(c)).toEqual({ v: 1, id: 41, ok: false, error: NESTING_REFUSAL });
    expect(await answer(c)).toEqual({ v: 1, id: 42, ok: true, result: [] });
  });
});
