import type { ProgramSpec } from '@syrup/backend-ebpf/codegen';
import { LinkError, inNetworkNamespace, interfaceIndex } from '@syrup/backend-ebpf/links';
import { loadProgramSpec, type LoadedProgram } from '@syrup/backend-ebpf/loader';
import { KernelMapError } from '@syrup/backend-ebpf/maps';
import { ProgramError } from '@syrup/backend-ebpf/programs';
import { NfpError } from './nfp-error.js';
import type { NfpTarget } from './nfp-target.js';

/**
 * Creates the program's maps on the device (`map_ifindex`) and loads the program for it
 * (`prog_ifindex`), in the target's network namespace. A device the kernel does not offload
 * to refuses the first map or the program; that becomes one sentence naming the interface and
 * what it lacks, and everything created before is closed (loadProgramSpec's contract).
 */
export function loadOnDevice(spec: ProgramSpec, target: NfpTarget): { ifindex: number; loaded: LoadedProgram } {
  return inNamespace(target.netns, () => {
    let ifindex: number;
    try {
      ifindex = interfaceIndex(target.ifname);
    } catch (error) {
      if (error instanceof LinkError) throw new NfpError('NFP_TARGET_INVALID', error.message, { cause: error });
      throw error;
    }
    try {
      return { ifindex, loaded: loadProgramSpec(spec, { offloadIfindex: ifindex }) };
    } catch (error) {
      const refused =
        (error instanceof ProgramError && error.code === 'PROGRAM_OFFLOAD_REFUSED') ||
        (error instanceof KernelMapError && error.code === 'KERNEL_MAP_OFFLOAD_REFUSED');
      if (!refused) throw error;
      const what = error instanceof ProgramError ? 'program' : 'map';
      throw new NfpError(
        'NFP_DEVICE_NOT_CAPABLE',
        `interface '${target.ifname}' (ifindex ${ifindex}) cannot run an offloaded policy: its driver does not offload BPF to the device (the kernel refused the ${what} with ${errnoOf(error)}), and xdp-offload needs a Netronome NFP with BPF firmware.`,
        { cause: error },
      );
    }
  });
}

function errnoOf(error: Error): string {
  return /\b(E[A-Z]+)\b/.exec(error.message)?.[1] ?? 'an error';
}

/** Runs `action` in the network namespace `netns` (an `ip netns` name or a path), or in this thread's own when undefined. */
export function inNamespace<T>(netns: string | undefined, action: () => T): T {
  return netns === undefined ? action() : inNetworkNamespace(netns, action);
}
