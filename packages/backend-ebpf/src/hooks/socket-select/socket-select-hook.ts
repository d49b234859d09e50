import { RestoreError, STANDARD_HOOKS, type AbandonRequest, type AttachRequest, type Authorization, type AuthorizeRequest, type DeployTarget, type TargetClaim, type TargetRequest, processClaim, type HookProbe, type HookSpec, type PolicyIr, type RestoreRequest } from '@syrup/core';
import { generateProgram } from '../../codegen/generate-program.js';
import type { BuiltinCodegenOptions } from '../../codegen/worker/codegen-messages.js';
import type { ProgramSpec } from '../../codegen/program-spec.js';
import type { FeatureReport } from '../../features/probe-features.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { EbpfArtifact, HookCompileOptions, NetworkHook } from '../network-hook.js';
import { ProcView } from '../proc-view.js';
import { authorizeSocketGroup } from './socket-group-ownership.js';
import { LocalSocketGroup } from './local-socket-group.js';
import { ProcessSocketGroup } from './process-socket-group.js';
import { SocketGroupAttachment } from './socket-group-attachment.js';
import { pinDirectoriesOf } from '../../pin/pinned-object.js';
import { openSocketGroupPins, openTargetPidfd } from './socket-group-pins.js';
import { abandonSocketGroup } from './socket-group-abandon.js';
import type { SocketGroup } from './socket-group.js';
import { SteeredSockets } from './steered-sockets.js';
import { SocketSelectError } from './socket-select-error.js';
import type { SocketProtocol } from './socket-table.js';

export interface SocketSelectHookOptions {
  readonly sys?: Syscalls;
  /** Where ownership proofs read procfs (a fixture tree in unit tests). */
  readonly proc?: ProcView;
}

/**
 * The `socket-select` hook: an SK_REUSEPORT program that picks, for each UDP datagram or TCP
 * connection request arriving at one SO_REUSEPORT group, the socket of the group that gets
 * it. Executors are the group's sockets, in a REUSEPORT_SOCKARRAY sized to the group.
 *
 * The target (`DeployTarget`) names the group in one of two ways:
 * - `extra.sockets`: the application's own sockets, an array of `Fd`s or of Node
 *   `dgram.Socket` / `net.Server` objects made with `reusePort: true`; executor k is
 *   `sockets[k]`. `port`, when given, must be theirs.
 * - `port` (and optionally `pid`, `extra.address`): the sockets bound to the port by the
 *   process `pid`, or, without `pid`, by the process holding all of them. They are taken with
 *   pidfd_getfd and closed again as soon as they are in the socket array; executor k is the
 *   k-th socket in ascending order of the owner's fd numbers.
 * `protocol` is 'udp' or 'tcp' and defaults to the policy's input kind.
 */
export class SocketSelectHook implements NetworkHook {
  readonly spec: HookSpec = STANDARD_HOOKS['socket-select'];
  readonly #sys: Syscalls | undefined;
  readonly #proc: ProcView;
  /** The groups this hook's live deployments steer: one deployment per group (see `SteeredSockets`). */
  readonly #steered = new SteeredSockets();

  constructor(options: SocketSelectHookOptions = {}) {
    this.#sys = options.sys;
    this.#proc = options.proc ?? new ProcView();
  }

  /** The process holding the group, when the target names it (found from the port, it is named by `authorize`). */
  claims(request: TargetRequest): readonly TargetClaim[] {
    return request.target.pid === undefined ? [] : [processClaim(request.target.pid)];
  }

  /** A tenant's socket group is one of its processes' (see authorizeSocketGroup); a port alone gets its owner's pid filled in. */
  authorize(request: AuthorizeRequest): Authorization {
    const protocol = request.target.protocol ?? (request.input === 'tcp' ? 'tcp' : 'udp');
    return authorizeSocketGroup(this.#proc, request.target, protocol, request.caller.uid);
  }

  probe(features: FeatureReport): HookProbe {
    for (const name of ['bpf-syscall', 'sk-reuseport'] as const) {
      const status = features.get(name);
      if (!status.available) {
        return { hook: this.spec.id, available: false, reason: status.reason ?? `this machine lacks the '${name}' capability the socket-select hook needs.` };
      }
    }
    return { hook: this.spec.id, available: true };
  }

  compile(ir: PolicyIr, options: HookCompileOptions): ProgramSpec {
    return generateProgram(ir, this.codegen(ir, options));
  }

  codegen(_ir: PolicyIr, options: HookCompileOptions): BuiltinCodegenOptions {
    return { target: 'socket-select', ...(options.sourceText === undefined ? {} : { sourceText: options.sourceText }) };
  }

  async attach(request: AttachRequest<EbpfArtifact>): Promise<SocketGroupAttachment> {
    const sys = this.#sys ?? nativeSyscalls();
    const { artifact, target } = request;
    const group = resolveGroup(target, protocolOf(artifact, target), sys);
    return SocketGroupAttachment.open(group, artifact, {
      steered: this.#steered,
      sys,
      ...(request.sharedMaps === undefined ? {} : { sharedMaps: request.sharedMaps }),
      // Pinned before the attach: a crash right after it leaves the objects findable (see abandon).
      ...(request.location === undefined ? {} : { pinDir: pinDirectoriesOf(request.location, this.spec.id).path }),
      ...(request.deployment === undefined ? {} : { deployment: request.deployment }),
    });
  }

  /** Undoes an unfinished deploy, replace or undeploy of a crashed daemon (see `abandonSocketGroup`). */
  async abandon(request: AbandonRequest): Promise<void> {
    abandonSocketGroup(request, this.#sys ?? nativeSyscalls());
  }

  /**
   * Rebuilds a deployment a previous process persisted: opens its pins and checks each
   * object's id and tag against the record (`RESTORE_UNTRUSTED` otherwise), opens a pidfd of
   * the recorded owner and checks its start time (`RESTORE_TARGET_GONE` when it exited), and
   * attaches the recorded program to the group again (the one it runs, or, after a crash in
   * the middle of a replace, the recorded one back). The result replaces and closes like a
   * fresh attachment and reports the owner's exit again.
   */
  async restore(request: RestoreRequest): Promise<SocketGroupAttachment> {
    const sys = this.#sys ?? nativeSyscalls();
    const objects = openSocketGroupPins(request, sys);
    let pidfd;
    try {
      pidfd = openTargetPidfd(objects.info.pid, request.process?.startTime, sys);
    } catch (error) {
      objects[Symbol.dispose]();
      throw error;
    }
    const group = ProcessSocketGroup.adopt(objects.info, pidfd, sys);
    try {
      return SocketGroupAttachment.restored(group, objects, pinDirectoriesOf(request.location, this.spec.id).path, { steered: this.#steered, sys });
    } catch (error) {
      if (error instanceof SocketSelectError && error.code === 'SOCKET_SELECT_GROUP_GONE') {
        throw new RestoreError('RESTORE_TARGET_GONE', error.message, { cause: error });
      }
      throw error;
    }
  }
}

/** The target's protocol: what it names, which must be the policy's input kind, or that kind. */
function protocolOf(artifact: EbpfArtifact, target: DeployTarget): SocketProtocol {
  const input = artifact.policy.input;
  if (input !== 'udp' && input !== 'tcp') {
    throw new SocketSelectError('SOCKET_SELECT_PROTOCOL_MISMATCH', `policy '${artifact.policy.name}' takes ${input} inputs, and socket-select sees only udp datagrams and tcp connection requests.`);
  }
  if (target.protocol !== undefined && target.protocol !== input) {
    throw new SocketSelectError(
      'SOCKET_SELECT_PROTOCOL_MISMATCH',
      `policy '${artifact.policy.name}' takes ${input} inputs, but the target's protocol is ${target.protocol}.`,
    );
  }
  return input;
}

function resolveGroup(target: DeployTarget, protocol: SocketProtocol, sys: Syscalls): SocketGroup {
  const port = target.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', `port ${String(port)} is not a port number (1 to 65535).`);
  }
  const extra = target.extra ?? {};
  const sockets = extra['sockets'];
  const address = extra['address'];
  if (address !== undefined && typeof address !== 'string') {
    throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', 'extra.address must be the group\'s local address as text, such as \'127.0.0.1\' or \'::\'.');
  }
  if (sockets !== undefined) {
    if (!Array.isArray(sockets)) {
      throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', 'extra.sockets must be an array of Fds or of Node dgram.Socket / net.Server objects.');
    }
    if (target.pid !== undefined && target.pid !== process.pid) {
      throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', `extra.sockets are sockets of this process (${process.pid}), but the target names process ${target.pid}.`);
    }
    return LocalSocketGroup.resolve(sockets as readonly unknown[], { protocol, ...(port === undefined ? {} : { port }) }, sys);
  }
  if (port === undefined) {
    throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', 'a socket-select target needs the port its sockets are bound to, or the sockets themselves in extra.sockets.');
  }
  const pid = target.pid;
  if (pid !== undefined && (!Number.isInteger(pid) || pid < 1)) {
    throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', `pid ${String(pid)} is not a process id.`);
  }
  return ProcessSocketGroup.resolve({ protocol, port, ...(pid === undefined ? {} : { pid }), ...(address === undefined ? {} : { address }) }, sys);
}
