// tsyringe reads decorator metadata through the Reflect API, which must exist before it loads.
import 'reflect-metadata';

export {
  DeploymentError,
  HookUnavailableError,
  LowLevelError,
  NoBackendError,
  PolicyDefinitionError,
  PolicyHelperError,
  SyrupError,
  isRefusal,
} from './errors/syrup-error.js';
export { OwnershipError, type OwnershipErrorCode } from './errors/ownership-error.js';
export {
  INPUT_KINDS,
  type Bytes,
  type InputKind,
  type InputOf,
  type PacketInput,
  ThreadEvent,
  type TcpInput,
  type ThreadEventCode,
  type ThreadEventName,
  type ThreadInput,
  type UdpInput,
} from './policy/inputs.js';
// The input fields in one table: what the front end, the IR verifier and the evaluator read, and backends size values by.
export {
  INPUT_REGIONS,
  InputFieldTableError,
  STANDARD_INPUT_FIELDS,
  STANDARD_INPUT_FIELD_SPECS,
  defineInputFields,
  type FieldEvaluation,
  type InputFieldSpec,
  type InputFieldTable,
  type InputMemberOf,
} from './policy/input-fields.js';
export { DROP, EXECUTOR_KINDS, PASS, type Drop, type ExecutorKey, type ExecutorKind, type Pass, type StandardExecutorKind, type Verdict } from './policy/verdict.js';
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
export { STANDARD_HOOKS, STANDARD_HOOK_IDS, type HookId, type HookSpec, type MapStoreKind, type StandardHookId } from './hook/hook-spec.js';
export { claimRefusal, claimsConflict, type TargetClaim } from './hook/target-claim.js';
export {
  WIRE_TARGET_FIELDS,
  flattenTarget,
  parseTargetFieldText,
  targetFieldsOf,
  targetOfFields,
  type TargetField,
  type TargetFieldType,
  type TargetSchema,
} from './hook/target-fields.js';
export { parseTarget } from './hook/parse-target.js';
export { TargetError } from './hook/target-error.js';
export { processClaim, processRealUid, requireProcessOwner } from './hook/process-claim.js';
export { BackendRefusedError } from './hook/backend-refused-error.js';
export { hookTargetFields } from './hook/hook-target-fields.js';
export {
  HookRegistry,
  HookRegistryImpl,
  registerHookRegistry,
  type BackendRegistration,
  type HookAvailability,
} from './hook/hook-registry.js';
export {
  Backend,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type AuthorizeRequest,
  type Authorization,
  type CallerCredentials,
  type CompileRequest,
  type DeployTarget,
  type HookProbe,
  type PolicySource,
  type SharedMaps,
  type TargetRequest,
} from './backend/backend.js';
export type { BackendModule } from './backend/backend-module.js';
export type { AbandonRequest, JsonObject, JsonValue, PersistedAttachment, PersistedObjectRecord, PersistenceLocation, RestoreRequest, TargetProcess } from './backend/persistence.js';
export { RestoreError, type RestoreErrorCode } from './backend/restore-error.js';
export { CRASH_POINTS, CRASH_POINT_ENV, crashPoint, type CrashPoint } from './backend/crash-point.js';
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
export { formatIrInsn, formatPolicyIr } from './ir/format-policy-ir.js';
export { PolicyIrError, insnRegisters, verifyPolicyIr, type PolicyIrCheck } from './ir/verify-policy-ir.js';
export { policyIrFromJson, policyIrToJson } from './ir/policy-ir-json.js';
export { U64_MASK, evalBinary, evalCompare, evalUnary, isCommutative, negateCompare, swapCompare } from './ir/ir-semantics.js';

// The policy language front end: TypeScript subset -> policy IR.
export { compilePolicy, type CompilePolicyOptions, type CompiledPolicy } from './compiler/compile-policy.js';
export { FRONT_END_CHANNEL, type FrontEndRun } from './compiler/front-end-channel.js';
export { PolicyCompileError, type PolicyCompileErrorCode } from './compiler/policy-compile-error.js';
export { POLICY_LIMITS, type PolicyLimits } from './compiler/policy-limits.js';

// The userspace evaluator: runs the IR with the exact integer and map semantics of every target.
export { PolicyEvaluator, evaluatePolicy, type PolicyEvaluatorOptions } from './evaluator/policy-evaluator.js';
export { inputFlowHash, type PolicyEvaluationInput, type U64Like } from './evaluator/evaluation-input.js';
export { DROP_DECISION, PASS_DECISION, type PolicyDecision } from './evaluator/policy-decision.js';
export { PolicyEvaluationError } from './evaluator/policy-evaluation-error.js';
export { PolicyMapAccess } from './evaluator/policy-map-access.js';
export { interpretPolicyIr } from './evaluator/reference-interpreter.js';
