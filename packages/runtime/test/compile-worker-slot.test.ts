import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileWorkerEntry } from '../src/service/compile/compile-worker-entry.js';
import { CompileWorkerSlot } from '../src/service/compile/compile-worker-slot.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = { fileName: 'round-robin.ts', text: readFileSync(join(here, '../../policies-std/src/round-robin.ts'), 'utf8') };
const job = { source, params: undefined, timeoutMs: 60_000, signal: undefined };

/** Polls `condition` every 20 ms for up to `limitMs`; its last value. */
async function eventually(condition: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
}

describe('CompileWorkerSlot', () => {
  const slots: CompileWorkerSlot[] = [];
  afterEach(async () => {
    await Promise.all(slots.splice(0).map((slot) => slot.close()));
  });

  it('frees a spare worker after its idle time, and starts a fresh one for the next compile', async () => {
    const slot = new CompileWorkerSlot(compileWorkerEntry(), { idleMs: 100 });
    slots.push(slot);
    expect((await slot.compile(job)).manifest.name).toBe('round-robin');
    expect(slot.hasWorker).toBe(true);
    expect(await eventually(() => !slot.hasWorker, 10_000)).toBe(true);
    expect((await slot.compile(job)).manifest.name).toBe('round-robin');
  });

  it('keeps the worker of a slot without an idle time until it closes', async () => {
    const slot = new CompileWorkerSlot(compileWorkerEntry());
    slots.push(slot);
    await slot.compile(job);
    await sleep(300);
    expect(slot.hasWorker).toBe(true);
    await slot.close();
    expect(slot.hasWorker).toBe(false);
  });
});
