// Command-line options of the etcd registry backend (`--etcd-*`), validated and turned
// into the connection options that etcd-client.ts and EtcdStore take.
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../api/errors.js';

/** How to reach an etcd cluster: endpoints plus optional TLS files and auth. */
export interface EtcdConnectionOptions {
  /** Client URLs of the members, e.g. `http://127.0.0.1:2379`. All http or all https. */
  endpoints: string[];
  /** Key prefix under which registrations are stored (default `/nsm/registry`). */
  prefix: string;
  /** PEM file paths for TLS: CA bundle, client certificate and its key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

/** The raw values commander hands over for the options below. */
export interface EtcdCliValues {
  etcdEndpoints?: string;
  etcdPrefix?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUsername?: string;
  etcdPassword?: string;
}

const DEFAULT_ETCD_PREFIX = '/nsm/registry';
const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/** Flag, value name and help of each option, for `command.option(flags, help)`. */
const ETCD_CLI_OPTIONS: ReadonlyArray<readonly [flags: string, help: string]> = [
  ['--etcd-endpoints <urls>', `etcd client URLs, comma-separated (default ${DEFAULT_ETCD_ENDPOINT})`],
  ['--etcd-prefix <prefix>', `key prefix for registrations (default ${DEFAULT_ETCD_PREFIX})`],
  ['--etcd-ca <file>', 'PEM CA bundle for TLS to etcd'],
  ['--etcd-cert <file>', 'PEM client certificate for TLS to etcd'],
  ['--etcd-key <file>', 'PEM key of the client certificate'],
  ['--etcd-username <name>', 'etcd user (auth)'],
  ['--etcd-password <password>', 'password of the etcd user'],
];

/** Adds the `--etcd-*` options to a command (values arrive as EtcdCliValues). */
export function addEtcdOptions(command: Command): Command {
  for (const [flags, help] of ETCD_CLI_OPTIONS) command.addOption(new Option(flags, `${help} (etcd backend)`));
  return command;
}

/** Validates the CLI values; throws InvalidArgumentError with a one-line message. */
export function parseEtcdOptions(values: EtcdCliValues): EtcdConnectionOptions {
  const endpoints = (values.etcdEndpoints ?? DEFAULT_ETCD_ENDPOINT)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseEndpoint);
  if (endpoints.length === 0) throw new InvalidArgumentError('--etcd-endpoints: no URL given');
  const secure = endpoints.filter((e) => e.startsWith('https:')).length;
  if (secure !== 0 && secure !== endpoints.length) {
    throw new InvalidArgumentError('--etcd-endpoints: mix of http and https URLs');
  }
  const prefix = parsePrefix(values.etcdPrefix ?? DEFAULT_ETCD_PREFIX);
  if ((values.etcdCert === undefined) !== (values.etcdKey === undefined)) {
    throw new InvalidArgumentError('--etcd-cert and --etcd-key must be given together');
  }
  if ((values.etcdUsername === undefined) !== (values.etcdPassword === undefined)) {
    throw new InvalidArgumentError('--etcd-username and --etcd-password must be given together');
  }
  if ((values.etcdCa !== undefined || values.etcdCert !== undefined) && secure === 0) {
    throw new InvalidArgumentError('--etcd-ca/--etcd-cert need https:// endpoints');
  }
  const out: EtcdConnectionOptions = { endpoints, prefix };
  if (values.etcdCa !== undefined) out.caFile = values.etcdCa;
  if (values.etcdCert !== undefined) out.certFile = values.etcdCert;
  if (values.etcdKey !== undefined) out.keyFile = values.etcdKey;
  if (values.etcdUsername !== undefined) out.username = values.etcdUsername;
  if (values.etcdPassword !== undefined) out.password = values.etcdPassword;
  return out;
}

function parseEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidArgumentError(`--etcd-endpoints: not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`--etcd-endpoints: ${raw}: scheme must be http or https`);
  }
  if (url.hostname === '' || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new InvalidArgumentError(`--etcd-endpoints: ${raw}: expected scheme://host:port`);
  }
  return `${url.protocol}//${url.host}`;
}

function parsePrefix(raw: string): string {
  const p = raw.replace(/\/+$/, '');
  if (!p.startsWith('/') || p.length < 2 || /\s/.test(p)) {
    throw new InvalidArgumentError(`--etcd-prefix: ${JSON.stringify(raw)}: expected an absolute key path like /nsm/registry`);
  }
  return p;
}
