import type { HelperName } from '@syrup/backend-ebpf/asm';

/**
 * What one NFP BPF firmware offers a program. The kernel reads these from the firmware's
 * capability TLVs when the device is probed (nfp_bpf_parse_capabilities); they are not in the
 * kernel sources, so a profile is a named assumption, validated against before any load and
 * printed with every report. The JIT's own limits, the same for every firmware, are in
 * nfp-instruction-rule.ts and validate-for-nfp.ts.
 */
export interface NfpFirmwareProfile {
  /** Names the profile in reports (`syrup check` prints it). */
  readonly name: string;
  /** The helpers the firmware advertises (each of map lookup/update/delete and random is optional in hardware). */
  readonly helpers: readonly HelperName[];
  /** NFP_BPF_CAP_TYPE_QUEUE_SELECT: whether a program may store to `xdp_md->rx_queue_index`. */
  readonly queueSelect: boolean;
  /** Stack bytes per program: NFP_NET_CFG_BPF_STACK_SZ x 64 (the kernel caps it at 512). */
  readonly stackBytes: number;
  /**
   * The packet split: bytes of each frame the program can reach (BPF_INL_MTU x 64 - 32). A
   * program whose reads may go past it is refused ("potential packet access beyond HW packet
   * split boundary").
   */
  readonly packetReach: number;
  /** The map kinds the firmware keeps in its tables (the kernel offloads array and hash only). */
  readonly mapKinds: readonly ('array' | 'hash')[];
}

/**
 * The default profile: the helpers the firmware offers (map lookup, update and
 * delete, random, queue selection), the kernel's stack cap and a packet split of 4 x 64 - 32
 * bytes. Numbers for a particular card come from its firmware; pass another profile then.
 */
export const AGILIO_DEFAULT_PROFILE: NfpFirmwareProfile = Object.freeze({
  name: 'agilio-bpf-default',
  helpers: Object.freeze(['map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'get_prandom_u32'] as const),
  queueSelect: true,
  stackBytes: 512,
  packetReach: 4 * 64 - 32,
  mapKinds: Object.freeze(['array', 'hash'] as const),
});

/** One line describing a profile, for reports: `agilio-bpf-default: helpers ..., queue selection, 512 B stack, ...`. */
export function describeProfile(profile: NfpFirmwareProfile): string {
  const helpers = profile.helpers.map((h) => `bpf_${h}`).join(', ');
  return `${profile.name}: helpers ${helpers}; ${profile.queueSelect ? 'RX queue selection' : 'no RX queue selection'}; ${profile.stackBytes} B stack; packet split at ${profile.packetReach} B; ${profile.mapKinds.join(' and ')} maps`;
}
