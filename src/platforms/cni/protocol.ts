// What the short-lived plugin and the long-lived `nsm cni-daemon` say to each other: JSON over HTTP
// on a unix socket (POST /v1/add, /v1/del, /v1/check). Errors come back as CNI error fields.
export interface AttachmentRequest {
  cniVersion: string;
  /** Network name from the config: (network, containerId, ifname) names an attachment, as in the spec. */
  network: string;
  containerId: string;
  netns: string;
  ifname: string;
  nsmgr: string;
  /** Service URLs as in the config (the daemon parses them). */
  requests: string[];
  timeoutMs: number;
  prevResult?: Record<string, unknown>;
}

export interface DaemonError {
  code: number;
  msg: string;
  details?: string;
}

export const attachmentKey = (r: Pick<AttachmentRequest, 'network' | 'containerId' | 'ifname'>) => `${r.network}/${r.containerId}/${r.ifname}`;
