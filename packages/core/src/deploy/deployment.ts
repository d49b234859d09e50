import type { EventEmitter } from 'eventemitter3';
import type { DataMap, PerCpuDataMap } from '@syrup/maps';
import type { Artifact, DeployTarget, PolicySource } from '../backend/backend.js';
import type { SyrupError } from '../errors/syrup-error.js';
import type { HookId } from '../hook/hook-spec.js';
import type { PolicyIr } from '../ir/policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';

/**
 * A deployment's life. `pending -> compiling -> attaching -> active`; from `active`, a
 * replace goes through `replacing` back to `active` (a failed replace keeps the old policy),
 * and an undeploy goes through `undeploying` to `undeployed`. A failure while starting ends in
 * `failed` with nothing left attached. When the target process exits the deployment
 * undeploys itself (`target-exited`, then the usual undeploy events).
 */
export type DeploymentState = 'pending' | 'compiling' | 'attaching' | 'active' | 'replacing' | 'undeploying' | 'undeployed' | 'failed';

/** Typed events: past tense for facts, `will-` for what is about to happen. */
export interface DeploymentEvents {
  'state-changed': (to: DeploymentState, from: DeploymentState) => void;
  'will-compile': () => void;
  compiled: (artifact: Artifact) => void;
  'will-attach': () => void;
  attached: () => void;
  'will-replace': () => void;
  replaced: (artifact: Artifact) => void;
  /** The attachment's target process exited; `will-undeploy` and `undeployed` follow. */
  'target-exited': () => void;
  'will-undeploy': () => void;
  undeployed: () => void;
  failed: (error: SyrupError) => void;
}

/**
 * A policy to deploy: its compiled IR, its manifest (always `ir.manifest`) and, when it came
 * from a module, the module's text (for positions and line info). The front end ran once to
 * make it (`compilePolicy`, or the runtime's compile worker); the deployment hands `ir` to the
 * backend on start and on replace, so no backend parses the policy again.
 */
export interface PolicyUnit {
  readonly manifest: PolicyManifest;
  readonly ir: PolicyIr;
  readonly source?: PolicySource;
}

/** One policy deployed at one hook on one target. */
export interface Deployment extends AsyncDisposable, Pick<EventEmitter<DeploymentEvents>, 'on' | 'once' | 'off'> {
  readonly id: string;
  readonly hook: HookId;
  readonly target: DeployTarget;
  readonly policy: PolicyManifest;
  readonly state: DeploymentState;
  /** The policy's data maps by declared name; per-CPU maps read as one value per CPU. */
  readonly maps: Readonly<Record<string, DataMap | PerCpuDataMap>>;
  /** Hot swap: the new policy takes over atomically; maps with the same name and shape are kept. */
  replace(policy: PolicyUnit): Promise<void>;
  /** Detaches the policy and releases its resources; default scheduling resumes. */
  undeploy(): Promise<void>;
}
