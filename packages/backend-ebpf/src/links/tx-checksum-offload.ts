import { isSyscallError } from '../errors/syscall-error.js';
import { EthtoolCommand, ETHTOOL_VALUE_SIZE, IFNAMSIZ, IFREQ_DATA_OFFSET, IFREQ_SIZE, SIOCETHTOOL } from '../syscalls/ethtool-abi.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { LinkError } from './link-error.js';
import { inNetworkNamespace } from './network-namespace.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;

export interface TxChecksumOptions {
  readonly sys?: Syscalls;
  /** The network namespace of the interface (an `ip netns` name or a path); the caller's own otherwise. */
  readonly netns?: string;
}

/**
 * Whether interface `name` computes transmit checksums itself (any of NETIF_F_CSUM_MASK), as
 * `ethtool -k <dev>` shows under tx-checksumming.
 */
export function txChecksumOffload(name: string, options: TxChecksumOptions = {}): boolean {
  return ethtoolValue(name, EthtoolCommand.GTXCSUM, 0, options) !== 0;
}

/**
 * Turns interface `name`'s transmit checksum offload on or off, as `ethtool -K <dev> tx on|off`
 * does, through the SIOCETHTOOL ioctl (no ethtool binary needed). Off matters for frames that a
 * driver-mode XDP program redirects through a CPU map: locally generated UDP leaves a veth with
 * only the pseudo-header sum (CHECKSUM_PARTIAL), which the redirect loses, so the peer must
 * compute full checksums itself. Needs CAP_NET_ADMIN in the interface's namespace.
 */
export function setTxChecksumOffload(name: string, enabled: boolean, options: TxChecksumOptions = {}): void {
  ethtoolValue(name, EthtoolCommand.STXCSUM, enabled ? 1 : 0, options);
}

/** Runs one `struct ethtool_value` command on `name` and returns the value the kernel wrote back. */
function ethtoolValue(name: string, command: number, data: number, options: TxChecksumOptions): number {
  const sys = options.sys ?? nativeSyscalls();
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length >= IFNAMSIZ || name.includes('/')) {
    throw new LinkError('INTERFACE_NOT_FOUND', `'${name}' is not a valid interface name (1 to 15 characters, no '/').`);
  }
  const value = sys.allocBuffer(ETHTOOL_VALUE_SIZE);
  value.view.setUint32(0, command, true);
  value.view.setUint32(4, data, true);
  const ifreq = sys.allocBuffer(IFREQ_SIZE);
  ifreq.bytes.set(nameBytes);
  ifreq.view.setBigUint64(IFREQ_DATA_OFFSET, value.address, true);
  // The socket decides which namespace's interface the name means; it is made there and closed here.
  const open = (): ReturnType<Syscalls['socket']> => sys.socket(AF_INET, SOCK_DGRAM, 0);
  using socket = options.netns === undefined ? open() : inNetworkNamespace(options.netns, open, { sys });
  const where = options.netns === undefined ? '' : ` in network namespace '${options.netns}'`;
  try {
    sys.ioctl(socket, SIOCETHTOOL, ifreq);
  } catch (error) {
    const code = isSyscallError(error) ? error.code : 'an unknown error';
    if (code === 'ENODEV') throw new LinkError('INTERFACE_NOT_FOUND', `there is no network interface '${name}'${where}.`, { cause: error });
    const verb = command === EthtoolCommand.STXCSUM ? `turn ${data === 0 ? 'off' : 'on'}` : 'read';
    throw new LinkError('OFFLOAD_SETTING_FAILED', `cannot ${verb} the tx checksum offload of '${name}'${where} (${code}).`, { cause: error });
  }
  return value.view.getUint32(4, true);
}
