// Builds an etcd3 client from EtcdConnectionOptions (TLS files, auth, call deadlines)
// and waits, with backoff and a bounded overall timeout, until the cluster answers.
import { readFileSync } from 'node:fs';
import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, type IOptions } from 'etcd3';
import type { Logger } from 'pino';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError, messageOf } from '../api/errors.js';
import type { EtcdConnectionOptions } from './etcd-options.js';
import { Backoff } from '../sdk/tools/backoff.js';
import { sleep } from '../sdk/tools/sleep.js';

/** Deadline of each unary etcd call; the client retries on another member after it. */
const CALL_TIMEOUT_MS = 3000;

/** A new etcd3 client for `opts` (the caller closes it). */
export function createEtcdClient(opts: EtcdConnectionOptions): Etcd3 {
  const options: IOptions = {
    hosts: opts.endpoints,
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
  };
  if (opts.caFile !== undefined) {
    options.credentials = { rootCertificate: readPem(opts.caFile, '--etcd-ca') };
    if (opts.certFile !== undefined && opts.keyFile !== undefined) {
      options.credentials.certChain = readPem(opts.certFile, '--etcd-cert');
      options.credentials.privateKey = readPem(opts.keyFile, '--etcd-key');
    }
  }
  if (opts.username !== undefined && opts.password !== undefined) {
    options.auth = { username: opts.username, password: opts.password };
  }
  return new Etcd3(options);
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: cannot read ${path}: ${messageOf(err)}`, { cause: err });
  }
}

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

/**
 * Resolves once a read under `prefix` succeeds; retries with exponential backoff
 * (100 ms doubling to 2 s, with jitter) and then rejects with UnavailableError naming the endpoints.
 * Bad credentials fail at once with PermissionDeniedError.
 */
export async function waitForEtcd(
  client: Etcd3,
  opts: EtcdConnectionOptions,
  { timeoutMs = 15_000, logger, signal }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ initialMs: 100, maxMs: 2000 });
  for (let attempt = 1; ; attempt++) {
    try {
      await client
        .getAll()
        .prefix(`${opts.prefix}/`)
        .limit(1)
        .options({ deadline: Math.min(deadline, Date.now() + CALL_TIMEOUT_MS) })
        .keys();
      if (attempt > 1) logger?.info({ endpoints: opts.endpoints, attempt }, 'etcd reachable');
      return;
    } catch (err) {
      if (err instanceof EtcdAuthenticationFailedError || err instanceof EtcdPermissionDeniedError) {
        throw new PermissionDeniedError(`etcd at ${opts.endpoints.join(',')} refused access: ${messageOf(err)}`, { cause: err });
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted === true) {
        throw new UnavailableError(
          `etcd unreachable at ${opts.endpoints.join(',')} after ${attempt} attempts in ${Math.round(timeoutMs / 1000)} s: ${messageOf(err)}`,
        );
      }
      const delay = Math.min(backoff.next(), left);
      logger?.warn({ endpoints: opts.endpoints, attempt, err, retryInMs: delay }, 'etcd not reachable yet, retrying');
      await sleep(delay, signal);
    }
  }
}

