// Parses what a CNI runtime hands the plugin: the CNI_* environment and the network configuration
// on stdin, into one validated invocation; every problem is a CniError with the spec's code.
// Kept free of heavy imports: the plugin process loads it on every call (service URLs are parsed by the daemon).
import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export const DEFAULT_DAEMON_SOCKET = '/run/nsm-cni/daemon.sock';
export const DEFAULT_TIMEOUT_MS = 15_000;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** Path of the container's network namespace (may be empty for DEL). */
  netns: string;
  ifname: string;
  args: string;
  path: string;
}

export interface CniRequestSpec {
  /** The URL as written in the config. */
  url: string;
  service: string;
  ifname: string;
  labels: Record<string, string>;
  endpoint?: string;
}

export interface NsmCniConfig {
  cniVersion: string;
  name: string;
  type: string;
  /** The node's nsmgr: unix:///path.sock or tcp://host:port. */
  nsmgr: string;
  /** Service URLs as upstream writes them: kernel://svc/ifname?label=value. */
  requests: string[];
  daemonSocket: string;
  timeoutMs: number;
  prevResult?: Record<string, unknown>;
}

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION'];
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** The CNI_* variables; names the invalid ones (code 4) as the spec asks. */
export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command)) {
    throw new CniError(CniCode.InvalidEnv, command ? `CNI_COMMAND "${command}" is not one of ADD, DEL, CHECK, VERSION` : 'CNI_COMMAND is not set');
  }
  const out: CniEnv = {
    command: command as CniCommand,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: env.CNI_PATH ?? '',
  };
  if (out.command === 'VERSION') return out;
  const bad: string[] = [];
  if (!out.containerId) bad.push('CNI_CONTAINERID (not set)');
  if (!out.ifname) bad.push('CNI_IFNAME (not set)');
  else if (!IFNAME.test(out.ifname)) bad.push(`CNI_IFNAME ("${out.ifname}": 1-15 characters of A-Z a-z 0-9 _ . -)`);
  if (out.command !== 'DEL') {
    if (!out.netns) bad.push('CNI_NETNS (not set)');
    else if (!out.netns.startsWith('/')) bad.push(`CNI_NETNS ("${out.netns}" is not an absolute path)`);
  }
  if (bad.length > 0) throw new CniError(CniCode.InvalidEnv, `invalid environment: ${bad.join(', ')}`);
  return out;
}

/** The network configuration (stdin). Unknown fields are kept by runtimes for other plugins and ignored here. */
export function parseConfig(text: string, command: CniCommand): NsmCniConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodeFailure, `network configuration is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(CniCode.DecodeFailure, 'network configuration must be a JSON object');
  const c = raw as Record<string, unknown>;
  const cniVersion = typeof c.cniVersion === 'string' ? c.cniVersion : '';
  if (!cniVersion) throw new CniError(CniCode.InvalidConfig, 'network configuration: cniVersion is missing');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CniCode.IncompatibleVersion, `cniVersion "${cniVersion}" is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  const str = (k: string, required: boolean): string => {
    const v = c[k];
    if (v === undefined && !required) return '';
    if (typeof v !== 'string' || v === '') throw new CniError(CniCode.InvalidConfig, `network configuration: "${k}" must be a non-empty string`);
    return v;
  };
  const name = str('name', command !== 'VERSION');
  const type = str('type', false) || 'nsm-cni';
  if (command === 'VERSION') return { cniVersion, name, type, nsmgr: '', requests: [], daemonSocket: DEFAULT_DAEMON_SOCKET, timeoutMs: DEFAULT_TIMEOUT_MS };
  const nsmgr = str('nsmgr', true);
  if (!/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+)$/.test(nsmgr)) {
    throw new CniError(CniCode.InvalidConfig, `network configuration: "nsmgr" must be unix:///path/to/nsmgr.sock or tcp://host:port, not "${nsmgr}"`);
  }
  const requests = c.requests;
  if (!Array.isArray(requests) || requests.length === 0 || !requests.every((r) => typeof r === 'string')) {
    throw new CniError(CniCode.InvalidConfig, 'network configuration: "requests" must be a non-empty list of service URLs such as "kernel://my-service/nsm-1?app=web"');
  }
  const daemonSocket = str('daemonSocket', false) || DEFAULT_DAEMON_SOCKET;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (c.timeoutMs !== undefined) {
    if (typeof c.timeoutMs !== 'number' || !Number.isInteger(c.timeoutMs) || c.timeoutMs <= 0) throw new CniError(CniCode.InvalidConfig, 'network configuration: "timeoutMs" must be a positive integer');
    timeoutMs = c.timeoutMs;
  }
  const prev = c.prevResult;
  if (prev !== undefined && (typeof prev !== 'object' || prev === null || Array.isArray(prev))) throw new CniError(CniCode.InvalidConfig, 'network configuration: "prevResult" must be an object');
  return { cniVersion, name, type, nsmgr, requests: requests, daemonSocket, timeoutMs, ...(prev ? { prevResult: prev as Record<string, unknown> } : {}) };
}
