import { ThreadEvent, type ThreadEventCode } from '@syrup/core';

/**
 * What a driver reports about a managed thread, in ghOSt's terms (TASK_NEW, TASK_WAKEUP,
 * TASK_PREEMPT, TASK_YIELD, TASK_BLOCKED, TASK_DEAD, and ON_CPU, which ghOSt learns from its
 * own commits and a stock kernel reports through sched_switch).
 */
export const GHOST_MESSAGE_TYPES = ['new', 'wakeup', 'on-cpu', 'preempted', 'yield', 'blocked', 'dead'] as const;
export type GhostMessageType = (typeof GHOST_MESSAGE_TYPES)[number];

/**
 * One message. `seq` is the thread's sequence number (ghOSt's task barrier): the driver
 * counts every state change of the thread, so seq only grows, and may skip values when a
 * change was not delivered. A transaction names the seq its decision saw; the driver refuses
 * it as stale when the thread changed since.
 */
export interface GhostMessage {
  readonly type: GhostMessageType;
  readonly tid: number;
  readonly seq: number;
  /** The CPU the change happened on (the thread's last CPU). */
  readonly cpu: number;
  /** Nanoseconds the thread has run, as the driver knows it at this message. */
  readonly runtimeNs: bigint;
  /** Monotonic nanoseconds when the driver saw the change (for latency reports). */
  readonly timeNs: bigint;
}

/** The policy's `event` for a message, or undefined for messages the policy does not hear (on-cpu, dead). */
export function threadEventOf(type: GhostMessageType): ThreadEventCode | undefined {
  switch (type) {
    case 'new':
      return ThreadEvent.NEW;
    case 'wakeup':
      return ThreadEvent.WAKEUP;
    case 'preempted':
      return ThreadEvent.PREEMPTED;
    case 'yield':
      return ThreadEvent.YIELD;
    case 'blocked':
      return ThreadEvent.BLOCKED;
    case 'on-cpu':
    case 'dead':
      return undefined;
  }
}
