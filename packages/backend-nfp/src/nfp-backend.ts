import { STANDARD_HOOKS, type Artifact, type AttachRequest, type Backend, type CompileRequest, type HookProbe, type HookSpec, type TargetClaim, type TargetRequest } from '@syrup/core';
import { disassemble } from '@syrup/backend-ebpf/asm';
import { networkNamespaceIdentity } from '@syrup/backend-ebpf/links';
import type { NfpArtifact } from './nfp-artifact.js';
import { NfpAttachment } from './nfp-attachment.js';
import { NfpError } from './nfp-error.js';
import { AGILIO_DEFAULT_PROFILE, describeProfile, type NfpFirmwareProfile } from './nfp-firmware-profile.js';
import { nfpTarget } from './nfp-target.js';
import { findOffloadDevices, type OffloadDevice } from './offload-devices.js';
import { validateForNfp } from './validate-for-nfp.js';

export interface NfpBackendOptions {
  /** The firmware profile policies are validated against (default `AGILIO_DEFAULT_PROFILE`). */
  readonly profile?: NfpFirmwareProfile;
  /** Lists the offload-capable interfaces (default: sysfs); tests pass their own. */
  readonly devices?: () => readonly OffloadDevice[];
}

/**
 * The `xdp-offload` hook: policies run on a Netronome NFP SmartNIC, which picks each frame's
 * RX queue (executor k is queue `queue + k`), keeps the NIC's RSS choice on PASS and drops on
 * DROP. Every compile validates the policy against the NFP capability model and the firmware
 * profile first, on any machine; attach needs the NIC. Only root deploys here (no `authorize`):
 * the device and its single offloaded program are the machine's.
 */
export class NfpBackend implements Backend {
  readonly name = 'nfp';
  readonly hooks: readonly HookSpec[] = [STANDARD_HOOKS['xdp-offload']];
  readonly profile: NfpFirmwareProfile;
  readonly #devices: () => readonly OffloadDevice[];

  constructor(options: NfpBackendOptions = {}) {
    this.profile = options.profile ?? AGILIO_DEFAULT_PROFILE;
    this.#devices = options.devices ?? findOffloadDevices;
  }

  /** Available when some interface is driven by an offload driver (nfp); the reason says which are missing otherwise. */
  async probe(): Promise<HookProbe[]> {
    const devices = this.#devices();
    if (devices.length > 0) return [{ hook: 'xdp-offload', available: true }];
    return [
      {
        hook: 'xdp-offload',
        available: false,
        reason: 'no offload-capable NIC on this machine (no interface is driven by nfp, the Netronome Agilio driver); syrup check --hook xdp-offload still validates policies',
      },
    ];
  }

  /**
   * One offloaded program per interface: the NIC runs one. The key is the interface's name in
   * its namespace's identity (device and inode), so two names of one namespace are one key.
   */
  claims(request: TargetRequest): readonly TargetClaim[] {
    const ifname = request.target.interface;
    if (ifname === undefined) return [];
    const netns = request.target.extra?.['netns'];
    let namespace: string;
    try {
      namespace = networkNamespaceIdentity(typeof netns === 'string' ? netns : undefined);
    } catch {
      // A namespace that cannot be identified fails the attach with its own sentence; its name keys the claim meanwhile.
      namespace = `name:${String(netns)}`;
    }
    const key = `${namespace}/${ifname}`;
    return [{ kind: 'nic-offload', key, exclusive: true, taken: `the NIC behind '${ifname}' runs a policy of {holder}, so {caller} may not offload another to it.` }];
  }

  /** Validates the policy for the NIC and generates its program; refuses with every violation at its line. */
  async compile(request: CompileRequest): Promise<NfpArtifact> {
    const target = request.target === undefined ? undefined : nfpTarget(request.target, 'compile');
    const result = validateForNfp(request.ir, {
      profile: this.profile,
      ...(target?.port === undefined ? {} : { port: target.port }),
      ...(target === undefined ? {} : { firstQueue: target.firstQueue }),
      ...(request.source === undefined ? {} : { sourceText: request.source.text }),
    });
    if (result.spec === undefined) throw NfpError.notOffloadable(request.ir.manifest.name, result.violations, this.profile);
    return {
      backend: 'nfp',
      hook: 'xdp-offload',
      policy: request.policy,
      ir: request.ir,
      spec: result.spec,
      profile: this.profile.name,
      notes: [`validated against NFP firmware profile ${describeProfile(this.profile)}`],
    };
  }

  async attach(request: AttachRequest): Promise<NfpAttachment> {
    const artifact = this.#own(request.artifact);
    if (request.sharedMaps !== undefined && request.sharedMaps.size > 0) {
      throw new NfpError('NFP_SHARED_MAP_UNSUPPORTED', `maps on the NIC cannot be shared with other deployments ('${[...request.sharedMaps.keys()].join("', '")}'): an offloaded program reads only maps on its own device.`);
    }
    return NfpAttachment.attach(artifact, nfpTarget(request.target));
  }

  /** The NIC's program as the kernel's disassembler prints it, each instruction with its policy position. */
  describe(artifact: Artifact): readonly string[] {
    return disassemble(this.#own(artifact).spec.instructions, { sources: true }).split('\n');
  }

  #own(artifact: Artifact): NfpArtifact {
    const nfp = artifact as NfpArtifact;
    if (artifact.backend !== 'nfp' || nfp.spec === undefined) {
      throw new NfpError('NFP_FOREIGN_ARTIFACT', `the NFP backend cannot use an artifact compiled by backend '${artifact.backend}' for hook '${artifact.hook}'.`);
    }
    return nfp;
  }
}
