import type { Artifact, Attachment } from '@syrup/core';
import type { DataMapStore } from '@syrup/maps';
import { attachXdp, type XdpLink } from '@syrup/backend-ebpf/links';
import { loadProgramSpec, type LoadedProgram } from '@syrup/backend-ebpf/loader';
import type { NfpArtifact } from './nfp-artifact.js';
import { NfpError } from './nfp-error.js';
import { inNamespace, loadOnDevice } from './load-on-device.js';
import type { NfpTarget } from './nfp-target.js';

/**
 * A policy running on the NIC: its program and maps, created on the device, and the XDP link
 * in hardware mode that runs it. Owns all three; `close()` detaches and frees them. A host
 * program at xdp-drv on the same interface is another deployment and is left alone (the
 * kernel keeps one program per XDP mode, so both run: the NIC's first).
 */
export class NfpAttachment implements Attachment {
  readonly hook = 'xdp-offload';
  readonly target: NfpTarget;
  readonly ifindex: number;
  #loaded: LoadedProgram;
  readonly #link: XdpLink;
  #closed = false;

  private constructor(target: NfpTarget, ifindex: number, loaded: LoadedProgram, link: XdpLink) {
    this.target = target;
    this.ifindex = ifindex;
    this.#loaded = loaded;
    this.#link = link;
  }

  /** Loads `artifact` on the target's device and attaches it in hardware mode; nothing stays loaded when either step fails. */
  static attach(artifact: NfpArtifact, target: NfpTarget): NfpAttachment {
    const { ifindex, loaded } = loadOnDevice(artifact.spec, target);
    try {
      const link = inNamespace(target.netns, () => attachXdp({ program: loaded.program, ifindex, mode: 'hw' }));
      return new NfpAttachment(target, ifindex, loaded, link);
    } catch (error) {
      loaded.close();
      throw new NfpError('NFP_DEVICE_NOT_CAPABLE', `the offloaded program could not be attached to interface '${target.ifname}' in hardware mode: ${(error as Error).message}`, { cause: error });
    }
  }

  get maps(): ReadonlyMap<string, DataMapStore> {
    return this.#loaded.dataMaps;
  }

  /**
   * Loads the new program on the device with the same maps and swaps it into the link. The
   * NIC takes a new program while the old one runs only with firmware that supports live
   * reload (NFP_NET_BPF_CAP_RELO); without it the kernel refuses the swap and the old program
   * keeps running.
   */
  async replace(artifact: Artifact): Promise<void> {
    const next = artifact as NfpArtifact;
    if (artifact.backend !== 'nfp' || next.spec === undefined) {
      throw new NfpError('NFP_FOREIGN_ARTIFACT', `an xdp-offload deployment cannot take an artifact compiled by backend '${artifact.backend}' for hook '${artifact.hook}'.`);
    }
    const loaded = inNamespace(this.target.netns, () => loadProgramSpec(next.spec, { offloadIfindex: this.ifindex, dataMaps: this.#loaded.dataMaps }));
    try {
      this.#link.update(loaded.program);
    } catch (error) {
      loaded.close();
      throw new NfpError('NFP_DEVICE_NOT_CAPABLE', `interface '${this.target.ifname}' did not take the new program while the old one runs (its firmware may lack live reload): ${(error as Error).message}`, { cause: error });
    }
    const old = this.#loaded;
    this.#loaded = loaded;
    old.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.close();
    this.#loaded.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
