import type { GhostMessageType } from './thread-message.js';

/** A managed thread's state as the agent tracks it (ghOSt's Task states). */
export type ThreadState = 'new' | 'runnable' | 'running' | 'blocked' | 'dead';

/**
 * The state machine: for each message, the states it may arrive in and the state it leads
 * to. Anything else means a message was lost or reordered (a ring buffer overflow, a driver
 * bug); `advanceThreadState` reports that instead of guessing.
 */
const TRANSITIONS: Readonly<Record<GhostMessageType, { readonly from: readonly ThreadState[]; readonly to: ThreadState }>> = {
  new: { from: ['new'], to: 'runnable' },
  wakeup: { from: ['blocked', 'new'], to: 'runnable' },
  'on-cpu': { from: ['runnable'], to: 'running' },
  preempted: { from: ['running'], to: 'runnable' },
  yield: { from: ['running'], to: 'runnable' },
  blocked: { from: ['running'], to: 'blocked' },
  dead: { from: ['new', 'runnable', 'running', 'blocked'], to: 'dead' },
};

/** The state after `message` when `state` allows it, else undefined. */
export function advanceThreadState(state: ThreadState, message: GhostMessageType): ThreadState | undefined {
  const transition = TRANSITIONS[message];
  return transition.from.includes(state) ? transition.to : undefined;
}

/** The state a message leaves a thread in whatever it was before (how an agent resynchronizes). */
export function stateAfter(message: GhostMessageType): ThreadState {
  return TRANSITIONS[message].to;
}

/** Whether a thread in this state can be committed to a CPU. */
export function isRunnable(state: ThreadState): boolean {
  return state === 'runnable' || state === 'running';
}
