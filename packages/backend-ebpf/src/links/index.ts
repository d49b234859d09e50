// @syrup/backend-ebpf/links: attaching programs and where they attach.
// Owns the Link contract (XDP and raw tracepoint links, any of them pinned), SO_ATTACH_REUSEPORT_EBPF
// attachments, interface and network-namespace lookup, and tx checksum offload for XDP tests.
export type { Link } from './link.js';
export { XDP_MODE_FLAGS, XdpLink, attachXdp, type AttachXdpOptions, type XdpLinkUpdateOptions, type XdpMode } from './xdp-link.js';
export { PinnedLink } from './pinned-link.js';
export { ReuseportAttachment, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, type ReuseportAttachOptions } from './reuseport-attachment.js';
export { LinkError, type LinkErrorCode } from './link-error.js';
export { NETNS_RUN_DIR, inNetworkNamespace, networkNamespacePath, type NetworkNamespaceOptions } from './network-namespace.js';
export { networkNamespaceIdentity } from './network-namespace-identity.js';
export { interfaceIndex } from './interface-index.js';
export { setTxChecksumOffload, txChecksumOffload, type TxChecksumOptions } from './tx-checksum-offload.js';
export { RawTracepointLink } from './raw-tracepoint-link.js';
