import { STANDARD_HOOKS, type AttachRequest, type HookProbe, type HookSpec, type PolicyIr } from '@syrup/core';
import { generateProgram } from '../../codegen/generate-program.js';
import type { ProgramSpec } from '../../codegen/program-spec.js';
import type { FeatureName, FeatureReport } from '../../features/probe-features.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { EbpfArtifact, HookCompileOptions, NetworkHook } from '../network-hook.js';
import { XdpAttachment } from './xdp-attachment.js';
import { XdpHookError } from './xdp-hook-error.js';
import { parseXdpTarget, type XdpHookId } from './xdp-target.js';

export const XDP_HOOK_IDS: readonly XdpHookId[] = ['xdp-skb', 'xdp-drv', 'cpu-redirect'];

export interface XdpHookOptions {
  readonly sys?: Syscalls;
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

  constructor(id: XdpHookId, options: XdpHookOptions = {}) {
    if (!XDP_HOOK_IDS.includes(id)) throw new XdpHookError('XDP_TARGET_INVALID', `'${String(id)}' is not an XDP hook; use ${XDP_HOOK_IDS.join(', ')}.`);
    this.id = id;
    this.spec = STANDARD_HOOKS[id];
    this.#sys = options.sys;
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
    // Only a udp policy's prologue parses ports; a packet policy sees every frame the dispatcher routes to it.
    const port = ir.manifest.input === 'udp' ? options.port : undefined;
    return generateProgram(ir, {
      hook: this.id,
      ...(port === undefined ? {} : { port }),
      ...(options.sourceText === undefined ? {} : { sourceText: options.sourceText }),
    });
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
      sys: this.#sys ?? nativeSyscalls(),
    });
  }
}

/** The three XDP hooks, for registering with the eBPF backend. */
export function createXdpHooks(options: XdpHookOptions = {}): XdpHook[] {
  return XDP_HOOK_IDS.map((id) => new XdpHook(id, options));
}
