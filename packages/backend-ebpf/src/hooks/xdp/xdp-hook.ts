import { join } from 'node:path';
import { RestoreError, STANDARD_HOOKS, type AbandonRequest, type AttachRequest, type Authorization, type AuthorizeRequest, type HookProbe, type HookSpec, type PersistedAttachment, type PolicyIr, type RestoreRequest, type TargetClaim, type TargetRequest } from '@syrup/core';
import { generateProgram } from '../../codegen/generate-program.js';
import type { BuiltinCodegenOptions } from '../../codegen/worker/codegen-messages.js';
import type { ProgramSpec } from '../../codegen/program-spec.js';
import type { FeatureName, FeatureReport } from '../../features/probe-features.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { EbpfArtifact, HookCompileOptions, NetworkHook } from '../network-hook.js';
import { ProcView } from '../proc-view.js';
import { XdpOwnership } from './xdp-ownership.js';
import { KernelMap } from '../../maps/kernel-map.js';
import { CpuMap } from '../../maps/system/cpu-map.js';
import { XskMap } from '../../maps/system/xsk-map.js';
import { fromObjectRecord, pinDirectoriesOf, type PinnedObject } from '../../pin/pinned-object.js';
import { distrust, expectProgramMaps, expectRecorded, openRecordedDataMaps, openRecorded, recordOf, settlePendingPins } from '../../pin/pinned-objects.js';
import { Program } from '../../programs/program.js';
import { MapType, ProgType } from '../../syscalls/bpf-constants.js';
import { XdpAttachment } from './xdp-attachment.js';
import type { DispatcherLocation, DispatcherMode } from './dispatcher-location.js';
import { XdpDispatchers } from './xdp-dispatchers.js';
import { XdpHookError } from './xdp-hook-error.js';
import { DEFAULT_CPU_QUEUE_SIZE, parseXdpTarget, type XdpHookId, type XdpTarget } from './xdp-target.js';

export const XDP_HOOK_IDS: readonly XdpHookId[] = ['xdp-skb', 'xdp-drv', 'cpu-redirect'];

export interface XdpHookOptions {
  readonly sys?: Syscalls;
  /** Where ownership proofs read procfs (a fixture tree in unit tests). */
  readonly proc?: ProcView;
  /**
   * The dispatchers this hook's policies join, one per interface: the XDP hooks of one backend
   * share them (`createXdpHooks` does), so that every policy on an interface goes through one
   * dispatcher. A hook made alone has its own.
   */
  readonly dispatchers?: XdpDispatchers;
}

/**
 * The XDP hooks of the eBPF backend, one instance per hook id:
 * - `xdp-skb`: generic XDP (any device); executors are AF_XDP sockets in an XSK map;
 * - `xdp-drv`: native XDP in the driver; executors as xdp-skb;
 * - `cpu-redirect`: XDP in either mode; executor k is CPU k, through a CPU map.
 *
 * Every policy runs behind the interface's dispatcher (see XdpDispatcher), which routes its
 * UDP destination port to it; the policy is also compiled with that port, so its own
 * prologue passes anything else. See `parseXdpTarget` for the deploy target's fields.
 */
export class XdpHook implements NetworkHook {
  readonly id: XdpHookId;
  readonly spec: HookSpec;
  readonly #sys: Syscalls | undefined;
  readonly #ownership: XdpOwnership;
  /** The interfaces' dispatchers, shared with the backend's other XDP hooks. */
  readonly dispatchers: XdpDispatchers;

  constructor(id: XdpHookId, options: XdpHookOptions = {}) {
    if (!XDP_HOOK_IDS.includes(id)) throw new XdpHookError('XDP_TARGET_INVALID', `'${String(id)}' is not an XDP hook; use ${XDP_HOOK_IDS.join(', ')}.`);
    this.id = id;
    this.spec = STANDARD_HOOKS[id];
    this.#sys = options.sys;
    this.#ownership = new XdpOwnership(options.proc ?? new ProcView());
    this.dispatchers = options.dispatchers ?? new XdpDispatchers();
  }

  /** A routed port on the interface, and the RX queue when the policy has AF_XDP executors (see XdpOwnership). */
  claims(request: TargetRequest): readonly TargetClaim[] {
    return this.#ownership.claims(this.id, request.target);
  }

  authorize(request: AuthorizeRequest): Authorization {
    return this.#ownership.authorize(this.id, request.target, request.caller.uid);
  }

  probe(features: FeatureReport): HookProbe {
    const needs: FeatureName[] =
      this.id === 'xdp-skb' ? ['bpf-syscall', 'xdp-generic', 'af-xdp'] : this.id === 'xdp-drv' ? ['bpf-syscall', 'xdp-driver', 'af-xdp'] : ['bpf-syscall'];
    for (const name of needs) {
      const status = features.get(name);
      if (!status.available) return { hook: this.id, available: false, reason: status.reason ?? `${name} is unavailable.` };
    }
    if (this.id === 'cpu-redirect' && !features.has('xdp-driver') && !features.has('xdp-generic')) {
      return { hook: this.id, available: false, reason: features.get('xdp-generic').reason ?? 'Neither generic nor driver XDP can be attached here.' };
    }
    return { hook: this.id, available: true };
  }

  compile(ir: PolicyIr, options: HookCompileOptions): ProgramSpec {
    return generateProgram(ir, this.codegen(ir, options));
  }

  codegen(ir: PolicyIr, options: HookCompileOptions): BuiltinCodegenOptions {
    // Only a udp policy's prologue parses ports; a packet policy sees every frame the dispatcher routes to it.
    const port = ir.manifest.input === 'udp' ? options.port : undefined;
    return {
      target: this.id,
      ...(port === undefined ? {} : { port }),
      ...(options.sourceText === undefined ? {} : { sourceText: options.sourceText }),
    };
  }

  async attach(request: AttachRequest<EbpfArtifact>): Promise<XdpAttachment> {
    const { artifact } = request;
    if (artifact.hook !== this.id || artifact.program.target !== this.id) {
      throw new XdpHookError('XDP_ARTIFACT_MISMATCH', `hook '${this.id}' cannot attach an artifact compiled for '${artifact.hook}'.`);
    }
    const target = parseXdpTarget(this.id, request.target);
    return XdpAttachment.open({
      hook: this.id,
      artifact,
      target,
      ...(request.sharedMaps === undefined ? {} : { sharedMaps: request.sharedMaps }),
      dispatchers: this.dispatchers,
      sys: this.#sys ?? nativeSyscalls(),
    });
  }

  /**
   * Undoes what a crashed daemon's unfinished deploy (or a replace or undeploy whose record no
   * longer restores) left at the target: its port's route and slot on the interface's
   * dispatcher (see `XdpDispatchers.abandonRoute`). The deployment's own pins go with its
   * directory, which the runtime removes.
   */
  async abandon(request: AbandonRequest): Promise<void> {
    const { target } = request;
    const netns = target.extra?.['netns'];
    if (typeof target.interface !== 'string' || target.port === undefined) return;
    this.dispatchers.abandonRoute({
      ifname: target.interface,
      netns: typeof netns === 'string' ? netns : undefined,
      port: target.port,
      sharedDir: pinDirectoriesOf(request.location, this.id).shared,
      sys: this.#sys ?? nativeSyscalls(),
    });
  }

  /**
   * Rebuilds a deployment a previous process persisted (`XdpAttachment.persist`): opens the
   * interface's dispatcher once for all its deployments (or takes the one this process runs),
   * then the policy's pins, checking every object's id and tag against the record
   * (`RESTORE_UNTRUSTED` otherwise, with nothing kept open), and that the dispatcher still
   * routes the recorded port to the recorded slot holding this very program. An interface that
   * went away is `RESTORE_TARGET_GONE`. Records of policies with AF_XDP executors are refused
   * with `RESTORE_UNSUPPORTED`: their sockets were the stopped process's own.
   */
  async restore(request: RestoreRequest): Promise<XdpAttachment> {
    const sys = this.#sys ?? nativeSyscalls();
    const { record } = request;
    const dir = pinDirectoriesOf(request.location, this.id);
    if (record.hook !== this.id) throw new RestoreError('RESTORE_FAILED', `hook '${this.id}' cannot restore a record of hook '${record.hook}'.`);
    const data = recordData(record);
    if (data.executors === 'xsk') {
      throw new RestoreError(
        'RESTORE_UNSUPPORTED',
        `the ${this.id} deployment on UDP port ${data.port} of '${data.ifname}' had AF_XDP executors, which are sockets of the process that deployed it and closed with it, so it cannot be restored.`,
      );
    }
    const location: DispatcherLocation = {
      ifname: data.ifname,
      ifindex: data.ifindex,
      netns: data.netns,
      netnsId: data.netnsId,
      mode: data.mode,
      sharedDir: dir.shared,
      pins: data.dispatcher,
    };
    const objects = record.objects.map((o) => fromObjectRecord(o, this.id));
    // A daemon that died between a replace's pins and its record left pins pending: settled first.
    settlePendingPins(dir.path, objects, sys);
    const dispatcher = this.dispatchers.restore(location, sys);
    const opened: Disposable[] = [];
    try {
      const programRecord = recordOf(objects, 'program', 'prog', this.id);
      const program = Program.fromFd(openRecorded(dir.path, programRecord, sys), { sys });
      opened.push(program);
      const programInfo = program.info({ mapIds: true });
      expectRecorded(programRecord, programInfo.id, programInfo.tag);
      if (programInfo.type !== ProgType.XDP) distrust(programRecord, `is program type ${programInfo.type}, not XDP`);

      const executorsRecord = recordOf(objects, 'executors', 'map', this.id);
      const executorsMap = KernelMap.fromFd(openRecorded(dir.path, executorsRecord, sys), { sys });
      opened.push(executorsMap);
      expectRecorded(executorsRecord, executorsMap.info().id);
      const wanted = data.executors === 'cpu' ? MapType.CPUMAP : MapType.XSKMAP;
      if (executorsMap.spec.type !== wanted) distrust(executorsRecord, `is map type ${executorsMap.spec.type}, not ${data.executors === 'cpu' ? 'a CPU map' : 'an XSK map'}`);
      opened.pop();
      const executors = data.executors === 'cpu' ? CpuMap.fromKernelMap(executorsMap) : XskMap.fromKernelMap(executorsMap);
      opened.push({ [Symbol.dispose]: () => executors.close() });

      const maps = openRecordedDataMaps(dir.path, objects, sys, opened);
      // The executors map is the recorded one by id; a policy that only passes or drops never uses it.
      expectProgramMaps(programRecord, programInfo.mapIds, objects);
      const lease = dispatcher.claim(data.port, data.slot, program);
      return XdpAttachment.restored({
        hook: this.id,
        target: targetOf(data),
        lease,
        program,
        executors,
        maps,
        pinDir: dir.path,
        pinned: new Map(objects.map((o) => [o.pin, o.id])),
        sys,
      });
    } catch (error) {
      for (const object of opened.reverse()) object[Symbol.dispose]();
      dispatcher.leaveIfIdle();
      throw error;
    }
  }
}

/** What an XDP record's `data` holds, checked. */
interface XdpRecordData {
  readonly ifname: string;
  readonly ifindex: number;
  readonly netns: string | undefined;
  readonly netnsId: string;
  readonly port: number;
  readonly slot: number;
  readonly mode: DispatcherMode;
  readonly executors: 'cpu' | 'none' | 'xsk';
  readonly cpus: readonly number[] | undefined;
  readonly cpuQueueSize: number;
  readonly dispatcher: DispatcherLocation['pins'];
}

function recordData(record: PersistedAttachment): XdpRecordData {
  const d = record.data;
  const dispatcher = d['dispatcher'] as { dir?: unknown; objects?: unknown } | null | undefined;
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const ok =
    typeof d['ifname'] === 'string' &&
    int(d['ifindex']) &&
    (d['netns'] === undefined || typeof d['netns'] === 'string') &&
    typeof d['netnsId'] === 'string' &&
    int(d['port']) &&
    int(d['slot']) &&
    (d['mode'] === 'skb' || d['mode'] === 'drv') &&
    (d['executors'] === 'cpu' || d['executors'] === 'none' || d['executors'] === 'xsk') &&
    (d['cpus'] === undefined || (Array.isArray(d['cpus']) && d['cpus'].every(int))) &&
    (d['cpuQueueSize'] === undefined || int(d['cpuQueueSize'])) &&
    typeof dispatcher === 'object' &&
    dispatcher !== null &&
    typeof dispatcher.dir === 'string' &&
    Array.isArray(dispatcher.objects);
  if (!ok) throw new RestoreError('RESTORE_FAILED', `the ${record.hook} record does not describe an XDP deployment.`);
  return {
    ifname: d['ifname'] as string,
    ifindex: d['ifindex'] as number,
    netns: d['netns'] as string | undefined,
    netnsId: d['netnsId'] as string,
    port: d['port'] as number,
    slot: d['slot'] as number,
    mode: d['mode'] as DispatcherMode,
    executors: d['executors'] as 'cpu' | 'none' | 'xsk',
    cpus: d['cpus'] as number[] | undefined,
    cpuQueueSize: (d['cpuQueueSize'] as number | undefined) ?? DEFAULT_CPU_QUEUE_SIZE,
    dispatcher: { dir: dispatcher.dir as string, objects: (dispatcher.objects as PinnedObject[]).map((o) => fromObjectRecord(o, `${record.hook} dispatcher`)) },
  };
}

/** The target of a restored deployment, from its record (a CPU program given at deploy time runs on, but is not known here). */
function targetOf(data: XdpRecordData): XdpTarget {
  return {
    ifname: data.ifname,
    netns: data.netns,
    queue: 0,
    port: data.port,
    mode: data.executors === 'cpu' ? data.mode : undefined,
    xsk: { kind: 'none' },
    cpus: data.cpus,
    cpuQueueSize: data.cpuQueueSize,
    cpuProgram: undefined,
  };
}

/** The three XDP hooks, for registering with the eBPF backend, sharing one set of dispatchers (`options.dispatchers`, or a new one). */
export function createXdpHooks(options: XdpHookOptions = {}): XdpHook[] {
  const dispatchers = options.dispatchers ?? new XdpDispatchers();
  return XDP_HOOK_IDS.map((id) => new XdpHook(id, { ...options, dispatchers }));
}
