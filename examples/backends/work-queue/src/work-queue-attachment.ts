import { PolicyEvaluator, type Artifact, type Attachment, type PersistedAttachment, type PersistenceLocation, type PolicyIr } from '@syrup/core';
import type { DataMapStore } from '@syrup/maps';
import { JobServer, type Job, type JobAnswer } from './job-server.js';
import { saveCounts, snapshotMap, type QueueCounts } from './queue-state.js';
import { WORK_QUEUE_HOOK, type WorkQueueTarget } from './work-queue-hook.js';

/** What this backend compiles a policy into: the IR the runtime made, which the evaluator runs. */
export interface WorkQueueArtifact extends Artifact {
  readonly ir: PolicyIr;
}

/** Where a persisted deployment keeps its job socket and counts, and whom the socket belongs to. */
interface Persisted {
  readonly stateDir: string;
  readonly jobs: JobServer;
}

/**
 * One policy serving one named job queue. The data path runs where the attachment lives: in
 * syrupd, jobs arrive on `jobs.sock` in the deployment's state directory (once the runtime has
 * persisted it); in an embedded runtime the application calls `submit`. Each job goes through
 * core's evaluator over the deployment's maps, so a map shared with a kernel hook is read and
 * written here as that kernel map; the decision is counted and answered.
 */
export class WorkQueueAttachment implements Attachment {
  readonly hook = WORK_QUEUE_HOOK.id;
  readonly maps: ReadonlyMap<string, DataMapStore>;
  readonly target: WorkQueueTarget;
  #evaluator: PolicyEvaluator;
  #counts: QueueCounts;
  #persisted: Persisted | undefined;
  #closed = false;

  /** The maps this attachment owns (not shared), whose contents it keeps with its counts. */
  readonly #ownMaps: ReadonlyMap<string, DataMapStore>;

  constructor(ir: PolicyIr, maps: ReadonlyMap<string, DataMapStore>, ownMaps: readonly string[], target: WorkQueueTarget, counts: QueueCounts) {
    this.maps = maps;
    this.#ownMaps = new Map([...maps].filter(([name]) => ownMaps.includes(name)));
    this.target = target;
    this.#counts = counts;
    this.#evaluator = new PolicyEvaluator(ir, { maps });
  }

  /** The counts so far (a copy). */
  get counts(): QueueCounts {
    return { ...this.#counts, dispatched: [...this.#counts.dispatched] };
  }

  /** Where applications of the owner submit jobs while the deployment runs in syrupd, once persisted. */
  get jobSocket(): string | undefined {
    return this.#persisted?.jobs.path;
  }

  /** Schedules one job: queue k (k below `workers`), the default queue (PASS, or k beyond), or a drop. */
  submit(job: Job): JobAnswer {
    if (this.#closed) return { error: `the policy of queue '${this.target.queueName}' is no longer deployed.` };
    const payload = Buffer.from(job.payload, 'hex');
    const decision = this.#evaluator.evaluate({
      payload,
      ...(job.hash === undefined ? {} : { hash: job.hash }),
      ...(job.srcPort === undefined ? {} : { srcPort: job.srcPort }),
      ...(job.dstPort === undefined ? {} : { dstPort: job.dstPort }),
    });
    let answer: JobAnswer;
    if (decision.kind === 'drop') {
      this.#counts.dropped++;
      answer = { drop: true };
    } else if (decision.kind === 'executor' && decision.key < BigInt(this.target.workers)) {
      const queue = Number(decision.key);
      this.#counts.dispatched[queue] = (this.#counts.dispatched[queue] ?? 0) + 1;
      answer = { queue };
    } else {
      this.#counts.passed++;
      answer = { pass: true };
    }
    // Every job is on disk before its answer: a killed daemon loses no count and no map update.
    this.#save();
    return answer;
  }

  async replace(artifact: Artifact): Promise<void> {
    this.#evaluator = new PolicyEvaluator((artifact as WorkQueueArtifact).ir, { maps: this.maps });
  }

  /**
   * Keeps the counts in the state directory and opens the job socket there (again after a
   * replace: the same socket stays). The record names the counts file by the token inside it.
   */
  persist(location: PersistenceLocation): PersistedAttachment {
    if (this.#persisted === undefined) this.#persisted = { stateDir: location.stateDir, jobs: JobServer.listen(location.stateDir, location.tenant, (job) => this.submit(job)) };
    this.#save();
    return {
      backend: 'work-queue',
      hook: this.hook,
      objects: [{ kind: 'queue-state', role: 'counts', identity: { file: 'queues.json', token: this.#counts.token } }],
      data: { queueName: this.target.queueName, workers: this.target.workers },
    };
  }

  /** The daemon stops but keeps the deployment: the counts are on disk, the socket goes until restore opens it again. */
  async release(): Promise<void> {
    await this.#stop();
  }

  async close(): Promise<void> {
    await this.#stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#save();
    await this.#persisted?.jobs.close();
  }

  #save(): void {
    if (this.#persisted === undefined) return;
    const maps: Record<string, Record<string, string[]>> = {};
    for (const [name, store] of this.#ownMaps) maps[name] = snapshotMap(store);
    saveCounts(this.#persisted.stateDir, { ...this.#counts, maps });
  }
}
