import type { HookSpec, StandardHookId } from './hook-spec.js';

/**
 * The target fields the standard hooks take today, as `DeployTarget` spells them (`extra.*`
 * fields live under `target.extra`). Only plain values are listed: live objects an embedded
 * caller may pass (`extra.sockets`, `extra.xskSockets`, `extra.cpuProgram`) cannot cross the
 * wire and are left out.
 */
const TODAY: Readonly<Record<StandardHookId, readonly string[]>> = {
  'socket-select': ['port', 'protocol', 'pid'],
  'xdp-skb': ['interface', 'port', 'protocol', 'queue', 'extra.netns', 'extra.xskCount', 'extra.xskFrameSize', 'extra.xskFrameCount'],
  'xdp-drv': ['interface', 'port', 'protocol', 'queue', 'extra.netns', 'extra.xskCount', 'extra.xskFrameSize', 'extra.xskFrameCount'],
  'cpu-redirect': ['interface', 'port', 'protocol', 'queue', 'extra.netns', 'extra.cpus', 'extra.cpuQueueSize', 'extra.mode'],
  'xdp-offload': ['interface', 'port', 'queue'],
  thread: ['pid'],
};

/**
 * The names of the target fields a hook takes, for listings (`syrup hooks`): the spec's own
 * `targetFields` when it declares them, else today's fields of a standard hook, else none known.
 * The one place to change when hook specs carry their target schema.
 */
export function hookTargetFields(spec: HookSpec): readonly string[] {
  if (spec.targetFields !== undefined) return spec.targetFields;
  return Object.hasOwn(TODAY, spec.id) ? TODAY[spec.id as StandardHookId] : [];
}
