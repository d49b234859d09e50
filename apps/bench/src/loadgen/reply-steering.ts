import { call, exit, JNE, JGT, label, loadMapPtr, loadMem, Add, Mov, R0, R1, R2, R3, R4, R5, toBigEndian, type AsmItem } from '@syrup/backend-ebpf/asm';
import { attachXdp, type XdpLink } from '@syrup/backend-ebpf/links';
import { XskMap } from '@syrup/backend-ebpf/maps';
import { Program } from '@syrup/backend-ebpf/programs';
import { ProgType, type Fd } from '@syrup/backend-ebpf/syscalls';

const XDP_PASS = 2;
/** Ethernet (14) + IPv4 without options (20) + UDP (8): where a reply's payload starts. */
export const REPLY_PAYLOAD_OFFSET = 42;
const UDP_SOURCE_PORT_OFFSET = 34;

/**
 * The generator side's XDP program: an IPv4/UDP frame from `serverPort` (a reply) goes to the
 * AF_XDP socket at index 0 of `xsks`; everything else takes the kernel's usual path. Only
 * option-less IPv4 headers match, which is what the servers send.
 */
function replySteeringInstructions(serverPort: number): AsmItem[] {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, REPLY_PAYLOAD_OFFSET),
    JGT.reg(R4, R3, 'pass'),
    loadMem(R5, R2, 12, 'H'),
    JNE.imm(R5, 0x0008, 'pass'), // ETH_P_IP in network order, read little-endian
    loadMem(R5, R2, 14, 'B'),
    JNE.imm(R5, 0x45, 'pass'),
    loadMem(R5, R2, 23, 'B'),
    JNE.imm(R5, 17, 'pass'),
    loadMem(R5, R2, UDP_SOURCE_PORT_OFFSET, 'H'),
    toBigEndian(R5, 16),
    JNE.imm(R5, serverPort, 'pass'),
    loadMapPtr(R1, 'xsks'),
    Mov.imm(R2, 0),
    Mov.imm(R3, XDP_PASS), // the action when no socket is at index 0
    call('redirect_map'),
    exit(),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

/**
 * Replies steered to one AF_XDP socket of the load generator: the program above, its XSK map
 * and its attachment in driver mode to the generator's interface, owned together. Closing
 * detaches the program first, so no frame is redirected to a socket that is going away.
 */
export class ReplySteering implements Disposable {
  readonly #map: XskMap;
  readonly #program: Program;
  readonly #link: XdpLink;
  #closed = false;

  private constructor(map: XskMap, program: Program, link: XdpLink) {
    this.#map = map;
    this.#program = program;
    this.#link = link;
  }

  /** Attaches to `ifname` (in this thread's namespace) and steers replies from `serverPort` to `socket`; on failure leaves nothing behind. */
  static attach(ifname: string, serverPort: number, socket: Fd): ReplySteering {
    const map = XskMap.create({ maxEntries: 1, name: 'loadgen_xsks' });
    let program: Program | undefined;
    try {
      map.set(0, socket);
      program = Program.load({ name: 'loadgen_replies', type: ProgType.XDP, license: 'GPL', instructions: replySteeringInstructions(serverPort), maps: new Map([['xsks', map]]) });
      const link = attachXdp({ program, ifname, mode: 'drv' });
      return new ReplySteering(map, program, link);
    } catch (error) {
      program?.close();
      map.close();
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.close();
    this.#program.close();
    this.#map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
