// Size limits of registrations and the checks of their strings and URLs: every
// field and count is bounded so that no registration can make a Find response
// exceed gRPC's message size, and names and URLs are well-formed text.

/** Longest name accepted (a DNS subdomain's limit, as Kubernetes object names that upstream's CRD registry stores). */
export const MAX_NAME_LENGTH = 253;
/** Longest URL accepted (unix socket paths are at most 108 bytes; tcp URLs are far shorter). */
export const MAX_URL_LENGTH = 1024;
/** Most network_service_names of one endpoint, entries of network_service_labels, and path_ids. */
export const MAX_SERVICES = 64;
/** Most labels in one label map or selector. */
export const MAX_LABELS = 64;
/** Most matches of a NetworkService, and routes of one match. */
export const MAX_MATCHES = 64;
export const MAX_ROUTES = 64;
/** Longest payload name (ETHERNET, IP, ...). */
export const MAX_PAYLOAD_LENGTH = 64;
/** Largest encoded registration: far below gRPC's 4 MiB default receive limit of every Find client. */
export const MAX_REGISTRATION_BYTES = 256 * 1024;

// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` is not acceptable text for a name (invalid UTF-8, lone surrogates, control characters), or undefined. */
export function textProblem(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'contains a lone surrogate (not valid UTF-16/UTF-8)';
  if (s.includes('\uFFFD')) return 'contains invalid UTF-8 (U+FFFD)';
  if (CONTROL.test(s)) return 'contains a control character';
  return undefined;
}

/** Why `url` is not a mesh URL (`tcp://host:port` or `unix:///absolute/path`), or undefined. */
export function meshUrlProblem(url: string): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `is longer than ${MAX_URL_LENGTH} characters (${url.length})`;
  const t = textProblem(url);
  if (t) return t;
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (!path.startsWith('/')) return 'unix URL needs an absolute path (unix:///path)';
    if (path.split('/').includes('..')) return 'unix path must not contain ".."';
    if (/\s/.test(path)) return 'unix path must not contain white space';
    return undefined;
  }
  if (!url.startsWith('tcp://')) return 'must be tcp://host:port or unix:///absolute/path';
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(url);
  if (!m) return 'must be tcp://host:port or unix:///absolute/path';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port ${port} is out of range 1..65535`;
  return undefined;
}
