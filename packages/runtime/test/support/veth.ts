// The shared helper, under the names this package's tests use.
export { createVethNamespaces, sendUdpFrom as sendFrom, type VethNamespaces as VethPair } from '@syrup/test-support/veth-namespaces';
