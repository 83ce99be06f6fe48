// The CNI plugin's logic, free of process I/O: env + stdin in, stdout text + exit code out.
// VERSION answers itself; ADD/DEL/CHECK go to the node's cni-daemon. DEL never fails for a missing
// container or daemon (it removes the interfaces it knows of itself), as the spec wants DEL to be.
import { parseConfig, parseEnv, SUPPORTED_VERSIONS, type CniEnv, type NsmCniConfig } from './config.js';
import { callDaemon, DaemonUnreachableError } from './daemon-client.js';
import { CniCode, CniError, asCniError } from './errors.js';
import { deleteInterfaces, netnsExists } from './check-netns.js';
import type { AttachmentRequest } from './protocol.js';

export interface PluginOutput {
  stdout: string;
  code: number;
}

/** Slack over the request timeout for the daemon's answer. */
const CALL_SLACK_MS = 5_000;

export async function runPlugin(env: NodeJS.ProcessEnv, stdin: string): Promise<PluginOutput> {
  let version = '1.0.0';
  try {
    const e = parseEnv(env);
    if (e.command === 'VERSION') {
      // stdin may carry {"cniVersion": ...}; its absence is fine.
      const asked = stdin.trim() ? (JSON.parse(stdin) as { cniVersion?: string }).cniVersion : undefined;
      return ok({ cniVersion: asked && (SUPPORTED_VERSIONS as readonly string[]).includes(asked) ? asked : '1.0.0', supportedVersions: SUPPORTED_VERSIONS });
    }
    const cfg = parseConfig(stdin, e.command);
    version = cfg.cniVersion;
    const req = attachmentRequest(cfg, e);
    const timeout = cfg.timeoutMs * Math.max(1, req.requests.length) + CALL_SLACK_MS;
    switch (e.command) {
      case 'ADD': {
        if (!netnsExists(e.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${e.netns} does not exist (container gone?)`);
        return ok(await callDaemon(cfg.daemonSocket, '/v1/add', req, timeout));
      }
      case 'CHECK':
        if (cfg.cniVersion === '0.3.0' || cfg.cniVersion === '0.3.1') throw new CniError(CniCode.IncompatibleVersion, `CHECK needs cniVersion 0.4.0 or later, not ${cfg.cniVersion}`);
        await callDaemon(cfg.daemonSocket, '/v1/check', req, timeout);
        return { stdout: '', code: 0 };
      case 'DEL':
        try {
          await callDaemon(cfg.daemonSocket, '/v1/del', req, timeout);
        } catch (err) {
          if (!(err instanceof DaemonUnreachableError)) throw err;
          // No daemon: its connections went with it; remove their interfaces if still there.
          await deleteInterfaces(e.netns, fallbackIfnames(req.requests, e.ifname)).catch(() => undefined);
        }
        return { stdout: '', code: 0 };
    }
  } catch (err) {
    const e = err instanceof SyntaxError ? new CniError(CniCode.DecodeFailure, `VERSION: stdin is not JSON: ${err.message}`) : asCniError(err);
    return { stdout: `${JSON.stringify(e.toJSON(version))}\n`, code: 1 };
  }
}

function attachmentRequest(cfg: NsmCniConfig, e: CniEnv): AttachmentRequest {
  return {
    cniVersion: cfg.cniVersion, network: cfg.name, containerId: e.containerId, netns: e.netns, ifname: e.ifname,
    nsmgr: cfg.nsmgr, requests: cfg.requests, timeoutMs: cfg.timeoutMs,
    ...(cfg.prevResult ? { prevResult: cfg.prevResult } : {}),
  };
}

const ok = (v: unknown): PluginOutput => ({ stdout: `${JSON.stringify(v)}\n`, code: 0 });

/** Interface names of the URLs without parsing them fully (kernel://svc/IFNAME or CNI_IFNAME, CNI_IFNAME-N). */
function fallbackIfnames(urls: string[], cniIfname: string): string[] {
  let unnamed = 0;
  return urls.map((u) => /^[a-z]+:\/\/[^/?#]+\/([^/?#]+)/i.exec(u)?.[1] ?? (unnamed++ === 0 ? cniIfname : `${cniIfname.slice(0, 12)}-${unnamed}`));
}
