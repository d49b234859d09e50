import {
  RestoreError,
  type AttachRequest,
  type Authorization,
  type AuthorizeRequest,
  type Backend,
  type CompileRequest,
  type HookProbe,
  type HookSpec,
  type RestoreRequest,
  type SharedMaps,
  type TargetClaim,
  type TargetRequest,
} from '@syrup/core';
import { InMemoryDataMapProvider, type DataMapStore } from '@syrup/maps';
import type { PolicyIr } from '@syrup/core';
import { freshCounts, loadCounts, restoreMap } from './queue-state.js';
import { WorkQueueAttachment, type WorkQueueArtifact } from './work-queue-attachment.js';
import { WORK_QUEUE_HOOK, workQueueTarget } from './work-queue-hook.js';
import { WorkQueueError } from './work-queue-error.js';

/**
 * A third-party backend, written against the public APIs of `@syrup/core` and `@syrup/maps`
 * only: it provides the `work-queue` hook, where a policy sends each in-process job to one of
 * N worker queues. It claims the queue's name for its tenant (one tenant per name), runs
 * the policy with core's evaluator in the process that attached it, and keeps its counts in
 * the deployment's state directory so a restarted daemon takes them up again.
 */
export class WorkQueueBackend implements Backend {
  readonly name = 'work-queue';
  readonly hooks: readonly HookSpec[] = [WORK_QUEUE_HOOK];
  readonly #memory = new InMemoryDataMapProvider();

  /** Runs anywhere Node runs: nothing to probe. */
  async probe(): Promise<readonly HookProbe[]> {
    return [{ hook: WORK_QUEUE_HOOK.id, available: true }];
  }

  /** One exclusive claim: the queue's name. */
  claims(request: TargetRequest): readonly TargetClaim[] {
    const { queueName } = workQueueTarget(request.target);
    return [{ kind: 'work-queue', key: queueName, exclusive: true, taken: `job queue '${queueName}' is served by a policy of {holder}, so {caller} may not deploy on it.` }];
  }

  /**
   * Any tenant may open a queue under a free name: the proof is the claim itself, which the
   * runtime refuses while another tenant holds the name. (The hook's schema has already
   * checked the name and the worker count.)
   */
  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    return { target: request.target, claims: this.claims(request) };
  }

  /** Nothing to generate: the runtime's IR is what the evaluator runs. */
  async compile(request: CompileRequest): Promise<WorkQueueArtifact> {
    return { backend: this.name, hook: WORK_QUEUE_HOOK.id, policy: request.ir.manifest, ir: request.ir };
  }

  async attach(request: AttachRequest): Promise<WorkQueueAttachment> {
    const artifact = request.artifact as Partial<WorkQueueArtifact>;
    if (artifact.backend !== this.name || artifact.ir === undefined) {
      throw new WorkQueueError('WORK_QUEUE_FOREIGN_ARTIFACT', `the work-queue backend cannot attach an artifact compiled by backend '${String(artifact.backend)}'.`);
    }
    const target = workQueueTarget(request.target);
    const { maps, own } = this.#maps(artifact.ir, request.sharedMaps);
    return new WorkQueueAttachment(artifact.ir, maps, own, target, freshCounts(target.workers));
  }

  /** Takes a deployment up again after a restart: the counts file must be the recorded one; the job socket opens again. */
  async restore(request: RestoreRequest): Promise<WorkQueueAttachment> {
    if (request.ir === undefined) throw new RestoreError('RESTORE_FAILED', 'the work-queue backend restores a deployment only with the policy it runs.');
    const identity = request.record.objects[0]?.identity as { file?: unknown; token?: unknown } | undefined;
    if (request.record.backend !== this.name || identity?.file !== 'queues.json' || typeof identity.token !== 'string') {
      throw new RestoreError('RESTORE_FAILED', 'the record names no work-queue state file.');
    }
    let counts;
    try {
      counts = loadCounts(request.location.stateDir);
    } catch (error) {
      throw new RestoreError('RESTORE_FAILED', (error as Error).message, { cause: error });
    }
    if (counts.token !== identity.token) throw new RestoreError('RESTORE_UNTRUSTED', `the queue state in ${request.location.stateDir} is not the recorded one.`);
    const target = workQueueTarget(request.target);
    const { maps, own } = this.#maps(request.ir, request.sharedMaps);
    for (const name of own) restoreMap(maps.get(name) as DataMapStore, counts.maps[name] ?? {});
    const attachment = new WorkQueueAttachment(request.ir, maps, own, target, counts);
    attachment.persist(request.location);
    return attachment;
  }

  /** The policy's maps: those it shares come from the runtime (a kernel map when a kernel hook shares it), the rest live here. */
  #maps(ir: PolicyIr, shared: SharedMaps | undefined): { maps: Map<string, DataMapStore>; own: string[] } {
    const maps = new Map<string, DataMapStore>();
    const own: string[] = [];
    for (const [name, spec] of Object.entries(ir.manifest.maps)) {
      const given = shared?.get(name);
      if (given === undefined) own.push(name);
      maps.set(name, given ?? this.#memory.createMap(spec, { name }));
    }
    return { maps, own };
  }
}

