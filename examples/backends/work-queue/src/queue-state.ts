import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataMapStore } from '@syrup/maps';
import { z } from 'zod';

/** The file in a deployment's state directory where this backend keeps its queues' counts. */
export const QUEUE_STATE_FILE = 'queues.json';

const QueueStateSchema = z.strictObject({
  /** Names this deployment's file: the identity the persisted record carries and restore checks. */
  token: z.string().regex(/^[0-9a-f]{16}$/),
  /** Jobs sent to each worker queue so far. */
  dispatched: z.array(z.number().int().min(0)),
  /** Jobs the policy left to the default queue (PASS, or a queue number beyond the workers). */
  passed: z.number().int().min(0),
  dropped: z.number().int().min(0),
  /**
   * The contents of the policy's own maps (those it shares live elsewhere: a kernel map when
   * a kernel hook shares them), by name: key -> slots as decimal strings. Small maps only: this
   * is an example, and it writes them after every job.
   */
  maps: z.record(z.string(), z.record(z.string().regex(/^\d+$/), z.array(z.string().regex(/^\d+$/)))).default({}),
});
export type QueueCounts = z.infer<typeof QueueStateSchema>;

export function freshCounts(workers: number): QueueCounts {
  return { token: randomBytes(8).toString('hex'), dispatched: new Array<number>(workers).fill(0), passed: 0, dropped: 0, maps: {} };
}

/** Writes the counts (root's, 0600: the tenant reads its numbers through its jobs, not this file). */
export function saveCounts(stateDir: string, counts: QueueCounts): void {
  writeFileSync(join(stateDir, QUEUE_STATE_FILE), JSON.stringify(counts), { mode: 0o600 });
}

/** Reads the counts back; throws a plain Error with one sentence when the file is missing or not this backend's. */
export function loadCounts(stateDir: string): QueueCounts {
  const path = join(stateDir, QUEUE_STATE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the queue state ${path}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = QueueStateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the queue state ${path} is not one this backend wrote.`);
  return parsed.data;
}

/** A map's entries as the state file keeps them. */
export function snapshotMap(store: DataMapStore): Record<string, string[]> {
  const entries: Record<string, string[]> = {};
  for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) {
    const slots = store.lookup(key);
    if (slots !== undefined && slots.some((v) => v !== 0n)) entries[String(key)] = slots.map(String);
  }
  return entries;
}

/** Puts a snapshot back into a fresh map. */
export function restoreMap(store: DataMapStore, entries: Readonly<Record<string, readonly string[]>>): void {
  for (const [key, slots] of Object.entries(entries)) store.update(Number(key), slots.map(BigInt));
}
