// tsyringe reads decorator metadata through the Reflect API, which must exist before it loads.
import 'reflect-metadata';

export {
  DeploymentError,
  HookUnavailableError,
  NoBackendError,
  PolicyDefinitionError,
  PolicyHelperError,
  SyrupError,
} from './errors/syrup-error.js';
export {
  INPUT_KINDS,
  type Bytes,
  type InputKind,
  type InputOf,
  type PacketInput,
  type TcpInput,
  type ThreadInput,
  type UdpInput,
} from './policy/inputs.js';
export { DROP, EXECUTOR_KINDS, PASS, type Drop, type ExecutorKey, type ExecutorKind, type Pass, type Verdict } from './policy/verdict.js';
export { cpu, now, random } from './policy/helpers.js';
export { flowHash, foldIpv6Address, ipv4Address } from './policy/flow-hash.js';
export type { PolicyMap, PolicyMapsOf, PolicyParams } from './policy/policy-maps.js';
export {
  definePolicy,
  parsePolicyManifest,
  type PolicyDeclaration,
  type PolicyDefinition,
  type PolicyManifest,
  type ScheduleFn,
} from './policy/define-policy.js';
export { STANDARD_HOOKS, STANDARD_HOOK_IDS, type HookId, type HookSpec, type StandardHookId } from './hook/hook-spec.js';
export {
  HookRegistry,
  HookRegistryImpl,
  registerHookRegistry,
  type HookAvailability,
} from './hook/hook-registry.js';
export {
  Backend,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type CompileRequest,
  type DeployTarget,
  type HookProbe,
  type PolicySource,
  type SharedMaps,
} from './backend/backend.js';
export type { BackendModule } from './backend/backend-module.js';
export type { Deployment, DeploymentEvents, DeploymentState, PolicyUnit } from './deploy/deployment.js';
export { DeployService, type DeployOptions, type DeploymentInfo } from './deploy/deploy-service.js';
export { ManagedDeployment, deployThrough } from './deploy/managed-deployment.js';
export {
  INPUT_FIELDS,
  POLICY_IR_VERSION,
  type BinaryOp,
  type CompareOp,
  type HelperName,
  type InputField,
  type IrInsn,
  type LoadRegion,
  type Operand,
  type PolicyIr,
  type SourcePosition,
  type UnaryOp,
  type VReg,
} from './ir/policy-ir.js';
