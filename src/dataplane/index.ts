// Public API of the data plane: the kernel driver the forwarder uses (the only code that touches the kernel).
//
// Tagging convention: every interface the forwarder creates gets the alias "nsm:<connection-id>"
// (aliasFor / connIdFromAlias), so a restarted forwarder can list them with listTagged(netns)
// and adopt or remove them; nothing is ever left behind.
//
// Fast path: operations run through one long-lived `ip -force -batch -` process per namespace
// (IpBatchChannel); only listLinks, setSysctl and namespace create/delete spawn processes.
// A non-host channel exits after 5 s idle (it pins its namespace); close it with
// closeNetns() before deleting a namespace, and call close() on shutdown.
//
// Data-path checks: IcmpProber sends ICMP/ICMPv6 echoes from inside any namespace in-process (raw
// sockets opened there with setns through the koffi FFI); echoLiveness is the client's LivenessCheck.
export { KernelDriver } from './kernel-driver.js';
export type { KernelDriverOptions, VethSpec, VxlanSpec, RouteSpec, BridgeOptions } from './kernel-driver.js';
export type { LinkInfo } from './ns-exec.js';
export { ALIAS_PREFIX, aliasFor, connIdFromAlias } from './alias.js';
export { IpBatchChannel, IpBatchPool, IpCommandError } from './ip-batch.js';
export type { IpBatchOptions, LineResult } from './ip-batch.js';
export {
  HOST_NETNS,
  NETNS_RUN_DIR,
  parseNetns,
  resolveNetns,
  findByInode,
  inodeUrlOf,
  netnsPath,
  describeNetns,
  listNamedNetns,
  createNamedNetns,
  deleteNamedNetns,
} from './netns.js';
export type { NetnsRef, NetnsLike, InodeRef } from './netns.js';
export { checkIfName, checkCidr, checkIp, checkVni, checkMtu, checkAlias, MTU_MIN, MTU_MAX, VNI_MAX } from './validate.js';
export type { Cidr } from './validate.js';
export { LinkLedger } from './link-ledger.js';
export { kernelDataplane, ledgeredDataplane, defaultLedgerFile } from './kernel-dataplane.js';
export type { KernelDataplaneOptions } from './kernel-dataplane.js';
export { IcmpProber, ToolUnavailableError } from './icmp-prober.js';
export type { EchoProber, EchoResult, IcmpProberOptions } from './icmp-prober.js';
export { echoLiveness } from './echo-liveness.js';
export type { EchoLiveness, EchoLivenessOptions } from './echo-liveness.js';
export { readLinkCounters, parseNetDev } from './link-stats.js';
export type { LinkCounters } from './link-stats.js';
