import { DataMapSpecSchema } from '@syrup/maps';
import { z } from 'zod';

/** The protocol version this package speaks; a request with another `v` is refused. */
export const PROTOCOL_VERSION = 1;

/** The largest request line the server reads (policy text included): 1 MiB. */
export const MAX_REQUEST_BYTES = 1 << 20;

/** Where syrupd listens unless told otherwise. */
export const DEFAULT_SOCKET_PATH = '/run/syrup/syrupd.sock';

/**
 * A u64 on the wire: a decimal string, because JSON numbers lose precision beyond 2^53. The
 * range check runs even when the pattern failed (zod goes on after a failed check), so it
 * must not throw on a string BigInt cannot read.
 */
const U64_TEXT = /^\d{1,20}$/;
const u64 = z
  .string()
  .regex(U64_TEXT, 'a u64 is a decimal string')
  .refine((s) => !U64_TEXT.test(s) || BigInt(s) <= 0xffff_ffff_ffff_ffffn, 'a u64 is at most 2^64-1');
const mapValue = z.union([u64, z.array(u64)]);
const u32 = z.number().int().min(0).max(0xffff_ffff);
const deploymentId = z.string().min(1).max(128);
const mapName = z.string().min(1).max(128);

const policySource = z.object({ fileName: z.string().min(1).max(4096), text: z.string() });
const params = z.record(z.string(), z.union([z.number().int().min(0), u64]));

/** Deploy targets as JSON; `extra` must be plain data (no sockets: fds mean nothing across processes). */
export const TargetSchema = z.object({
  port: z.number().int().min(0).max(65535).optional(),
  protocol: z.enum(['udp', 'tcp']).optional(),
  pid: z.number().int().min(1).optional(),
  interface: z.string().min(1).max(64).optional(),
  queue: z.number().int().min(0).optional(),
  extra: z.record(z.string(), z.json()).optional(),
});

const base = { v: z.literal(PROTOCOL_VERSION), id: z.union([z.string().max(128), z.number().int()]) };

/** `progress: true` asks for progress lines (see ProgressLineSchema) before the response. */
const progress = z.boolean().optional();

export const RequestSchema = z.discriminatedUnion('op', [
  z.object({
    ...base,
    op: z.literal('deploy'),
    hook: z.string().min(1).max(64),
    policy: policySource,
    target: TargetSchema,
    params: params.optional(),
    progress,
    // Maps to share by name with the caller's other deployments (cross-layer communication).
    shareMaps: z.array(mapName).max(64).optional(),
  }),
  z.object({ ...base, op: z.literal('replace'), deployment: deploymentId, policy: policySource, params: params.optional(), progress }),
  z.object({ ...base, op: z.literal('undeploy'), deployment: deploymentId }),
  z.object({ ...base, op: z.literal('list') }),
  z.object({ ...base, op: z.literal('map.get'), deployment: deploymentId, map: mapName, key: u32 }),
  z.object({ ...base, op: z.literal('map.set'), deployment: deploymentId, map: mapName, key: u32, value: mapValue }),
  z.object({ ...base, op: z.literal('map.dump'), deployment: deploymentId, map: mapName }),
  z.object({ ...base, op: z.literal('map.delete'), deployment: deploymentId, map: mapName, key: u32 }),
  // Atomic read-modify-writes, where the map can do them (MAP_NOT_ATOMIC otherwise).
  z.object({ ...base, op: z.literal('map.fetchAdd'), deployment: deploymentId, map: mapName, key: u32, delta: u64 }),
  z.object({ ...base, op: z.literal('map.compareExchange'), deployment: deploymentId, map: mapName, key: u32, expected: u64, desired: u64 }),
  // From now on, this connection hears the deployment's events (EventLineSchema) until it ends; owner or root only.
  z.object({ ...base, op: z.literal('watch'), deployment: deploymentId }),
  z.object({ ...base, op: z.literal('hooks') }),
  z.object({ ...base, op: z.literal('status') }),
  // The code the hook's backend generates for the policy; nothing is deployed.
  z.object({ ...base, op: z.literal('disasm'), hook: z.string().min(1).max(64), policy: policySource, params: params.optional(), target: TargetSchema.optional() }),
]);

export type Request = z.infer<typeof RequestSchema>;
export type RequestOp = Request['op'];
export const REQUEST_OPS: readonly RequestOp[] = [
  'deploy',
  'replace',
  'undeploy',
  'list',
  'map.get',
  'map.set',
  'map.dump',
  'map.delete',
  'map.fetchAdd',
  'map.compareExchange',
  'watch',
  'hooks',
  'disasm',
  'status',
];

export const DeploymentInfoSchema = z.object({
  id: z.string(),
  hook: z.string(),
  policy: z.string(),
  state: z.string(),
  target: TargetSchema,
  owner: z.number().int(),
  maps: z.array(z.string()),
  /** Each map's declared shape (a typed client map needs it). */
  mapSpecs: z.record(z.string(), DataMapSpecSchema).optional(),
  /** The maps shared with the owner's other deployments. */
  sharedMaps: z.array(z.string()).optional(),
});
export type WireDeploymentInfo = z.infer<typeof DeploymentInfoSchema>;

/**
 * One hook: who provides it (for a hook no loaded backend provides, the package that would),
 * whether it runs here and why not. `layer` and `targetFields` (the target's field names,
 * `extra.*` for fields under `target.extra`) are newer: optional, so older daemons still parse.
 */
export const HookInfoSchema = z.object({
  hook: z.string(),
  layer: z.string().optional(),
  backend: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  targetFields: z.array(z.string()).optional(),
});
export type WireHookInfo = z.infer<typeof HookInfoSchema>;

/** One backend package the daemon tried to load (see DaemonBackends); `state` is open to newer values. */
export const BackendPackageSchema = z.object({
  package: z.string(),
  state: z.string(),
  reason: z.string().optional(),
  path: z.string().optional(),
  backends: z.array(z.string()).optional(),
});
export type WireBackendPackage = z.infer<typeof BackendPackageSchema>;

/** `backends` is newer and optional: a daemon without a backend account (embedded) leaves it out. */
export const StatusSchema = z.object({
  version: z.number().int(),
  pid: z.number().int(),
  uptimeMs: z.number(),
  deployments: z.number().int(),
  backends: z.array(BackendPackageSchema).optional(),
});
export type WireStatus = z.infer<typeof StatusSchema>;

/** A response echoes the request id (null when the request had none readable). */
export const ResponseSchema = z.union([
  z.object({ v: z.literal(PROTOCOL_VERSION), id: z.union([z.string(), z.number(), z.null()]), ok: z.literal(true), result: z.unknown() }),
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    id: z.union([z.string(), z.number(), z.null()]),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type Response = z.infer<typeof ResponseSchema>;

/**
 * The stages a deploy or replace goes through in the service, as they happen: `compile` (the
 * front end in its worker, then the backend's code generation for a deploy), `attach` (a
 * deploy's program goes onto its target), `swap` (a replace generates and swaps in the new program).
 */
export const SERVICE_STAGES = ['compile', 'attach', 'swap'] as const;
export type ServiceStage = (typeof SERVICE_STAGES)[number];

/** Sent before the response of a request that asked for `progress`; carries the request's id. */
export const ProgressLineSchema = z.object({ v: z.literal(PROTOCOL_VERSION), id: z.union([z.string(), z.number()]), progress: z.enum(SERVICE_STAGES) });
export type ProgressLine = z.infer<typeof ProgressLineSchema>;

/**
 * Pushed by the server, without a request id, on a connection that watches a deployment: it
 * was replaced (by any client of its owner; `deployment` then carries the new info) or it
 * ended (`reason`: undeployed by a client, or its target process exited). No event follows `undeployed`.
 */
export const EventLineSchema = z.discriminatedUnion('event', [
  z.object({ v: z.literal(PROTOCOL_VERSION), event: z.literal('replaced'), deployment: z.string(), info: DeploymentInfoSchema }),
  z.object({ v: z.literal(PROTOCOL_VERSION), event: z.literal('undeployed'), deployment: z.string(), reason: z.enum(['undeployed', 'target-exited']) }),
]);
export type EventLine = z.infer<typeof EventLineSchema>;

/** Results by op, as the client parses them. */
export const ResultSchemas = {
  deploy: DeploymentInfoSchema,
  replace: DeploymentInfoSchema,
  undeploy: z.object({ undeployed: z.string() }),
  list: z.array(DeploymentInfoSchema),
  'map.get': z.object({ value: mapValue }),
  'map.set': z.object({ ok: z.literal(true) }),
  'map.dump': z.array(z.tuple([z.number().int(), mapValue])),
  'map.delete': z.object({ deleted: z.boolean() }),
  'map.fetchAdd': z.object({ old: u64 }),
  'map.compareExchange': z.object({ old: u64 }),
  watch: z.object({ watching: z.string() }),
  hooks: z.array(HookInfoSchema),
  status: StatusSchema,
  disasm: z.object({ lines: z.array(z.string()) }),
} as const satisfies Record<RequestOp, z.ZodType>;

/** A bigint or per-CPU values as wire strings. */
export function encodeMapValue(value: bigint | readonly bigint[]): string | string[] {
  return typeof value === 'bigint' ? value.toString() : value.map((v) => v.toString());
}

export function decodeMapValue(value: string | readonly string[]): bigint | bigint[] {
  return typeof value === 'string' ? BigInt(value) : value.map((v) => BigInt(v));
}
