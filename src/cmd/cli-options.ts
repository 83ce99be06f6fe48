// Shared flag parsers for the subcommands and the wait-for-shutdown helper.
import { InvalidArgumentError, Option } from 'commander';
import { parseMeshUrl } from '../api/transport.js';
import { parsePrefix } from '../sdk/tools/prefix.js';
import { parseListen } from '../observability/metrics-server.js';

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A mesh URL flag (unix:///path or tcp://host:port). */
export function meshUrlArg(value: string): string {
  try {
    parseMeshUrl(value);
  } catch (err) {
    throw new InvalidArgumentError(reason(err));
  }
  return value;
}

/** `k=v,k2=v2` into a label map. */
export function labelsArg(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`label "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A comma-separated list of CIDRs of either family (e.g. 169.254.1.0/24,2001:db8:1::/64). */
export function cidrsArg(value: string): string[] {
  const cidrs = value.split(',').map((c) => c.trim()).filter(Boolean);
  try {
    cidrs.forEach((c) => parsePrefix(c, 'cidr'));
  } catch (err) {
    throw new InvalidArgumentError(reason(err));
  }
  return cidrs;
}

/** A comma-separated list. */
export function listArg(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A duration such as 600, 10s, 500ms, 10m into milliseconds. */
export function durationArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a duration (e.g. 10m, 30s, 500ms)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Where waitForSignal reports a signal that came while the process was already shutting down. */
export interface SignalLog {
  warn(obj: object, msg: string): void;
}

/**
 * Resolves on the first SIGTERM or SIGINT (and keeps the process alive until then). Its handlers stay:
 * a later SIGTERM/SIGINT, while the command closes its connections and stops, is logged (one line each)
 * and otherwise ignored, never the default action that would kill the process half-way (SIGKILL still does).
 */
export function waitForSignal(log?: SignalLog): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    let first: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first) {
        if (log) log.warn({ signal, firstSignal: first }, 'already shutting down: signal ignored');
        else process.stderr.write(`nsm: ${signal}: already shutting down\n`);
        return;
      }
      first = signal;
      clearInterval(keepAlive);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Upstream's default nsmgr socket. */
export const DEFAULT_NSMGR_SOCKET = 'unix:///var/lib/networkservicemesh/nsm.io.sock';

/** `--nsmgr URL` (NSM_CONNECT_TO): the node's nsmgr, for everything that connects to one. */
export function nsmgrOption(): Option {
  return new Option('--nsmgr <url>', "the node's nsmgr").env('NSM_CONNECT_TO').default(DEFAULT_NSMGR_SOCKET).argParser(meshUrlArg);
}

/** `--max-token-lifetime DURATION` (NSM_MAX_TOKEN_LIFETIME, default 10m, as upstream). */
export function tokenLifetimeOption(): Option {
  return new Option('--max-token-lifetime <duration>', 'lifetime of the tokens it signs').env('NSM_MAX_TOKEN_LIFETIME').default(600_000, '10m').argParser(durationArg);
}

/** `--metrics-listen HOST:PORT` (NSM_METRICS_LISTEN_ON): serve Prometheus metrics at http://HOST:PORT/metrics (off by default). */
export function metricsListenOption(): Option {
  return new Option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics').env('NSM_METRICS_LISTEN_ON').argParser((v: string) => {
    try {
      parseListen(v);
    } catch (err) {
      throw new InvalidArgumentError(reason(err));
    }
    return v;
  });
}

/** `--otlp-endpoint URL` (NSM_OPENTELEMETRYENDPOINT): export OpenTelemetry spans over OTLP/HTTP there (off by default). */
export function otlpEndpointOption(): Option {
  return new Option('--otlp-endpoint <url>', 'export traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)').env('NSM_OPENTELEMETRYENDPOINT').argParser((v: string) => {
    if (!/^https?:\/\/[^\s/]+/.test(v)) throw new InvalidArgumentError(`"${v}" is not an http(s) URL of an OTLP collector (e.g. http://127.0.0.1:4318)`);
    return v;
  });
}
