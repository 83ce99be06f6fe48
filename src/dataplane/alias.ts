// The tagging convention: every interface the forwarder creates carries the alias "nsm:<connection-id>",
// so a restarted forwarder can find, adopt or remove what it created.
import { InvalidArgumentError } from '../api/errors.js';

export const ALIAS_PREFIX = 'nsm:';
const CONN_ID_RE = /^[A-Za-z0-9_.:/@+=-]{1,250}$/;

/** The alias for interfaces belonging to a connection. */
export function aliasFor(connId: string): string {
  if (typeof connId !== 'string' || !CONN_ID_RE.test(connId)) {
    throw new InvalidArgumentError(`connId: ${JSON.stringify(connId)} cannot be used in an interface alias`);
  }
  return ALIAS_PREFIX + connId;
}

/** The connection id in an alias, or undefined when the alias is not ours. */
export function connIdFromAlias(alias: string | undefined | null): string | undefined {
  if (!alias || !alias.startsWith(ALIAS_PREFIX) || alias.length === ALIAS_PREFIX.length) return undefined;
  return alias.slice(ALIAS_PREFIX.length);
}
