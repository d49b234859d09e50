import { flattenTarget, type DeployTarget, type HookSpec } from '@syrup/core';
import { z } from 'zod';

/**
 * The hook this backend adds. A job looks like a datagram to the policy (its `payload` bytes,
 * and `hash`, `srcPort`... as the submitter gives them), so policies written for the network
 * hooks, such as key-hash, schedule jobs unchanged. The executor k is the k-th worker queue.
 * Its maps live in userspace: the policy runs in this backend's process (syrupd), and a map it
 * shares with a kernel hook is handed to it as that kernel map.
 */
export const WORK_QUEUE_HOOK: HookSpec = {
  id: 'work-queue',
  layer: 'userspace job queues (example backend)',
  inputs: ['udp'],
  executor: 'queue',
  verdicts: ['pass', 'drop'],
  mapStore: 'userspace',
  target: z.looseObject({
    queueName: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/)
      .describe('the name of the job queue: one tenant owns it while the deployment lives'),
    workers: z.number().int().min(1).max(64).describe('how many worker queues the jobs are spread over'),
  }),
};

/** A target of this hook, once the runtime has checked it against the schema above. */
export interface WorkQueueTarget {
  readonly queueName: string;
  readonly workers: number;
}

/** The target's fields, wherever the wire put them (fields outside the wire's own travel in `extra`). */
export function workQueueTarget(target: DeployTarget): WorkQueueTarget {
  const { queueName, workers } = flattenTarget(target);
  if (typeof queueName !== 'string' || typeof workers !== 'number') {
    throw new TypeError("a work-queue target needs 'queueName' (text) and 'workers' (an integer).");
  }
  return { queueName, workers };
}
