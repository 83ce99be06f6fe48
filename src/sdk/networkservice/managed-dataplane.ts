// The data plane a forwarder component is handed (by the CLI: the kernel one; by the
// sandbox tier: a fake): the operations program-dataplane uses, plus what the
// component does with it over its life (adopt links of an earlier life, sweep, close).
import type { ForwarderDataplane } from './program-dataplane.js';

export interface ManagedDataplane extends ForwarderDataplane {
  /** Links an earlier life of this forwarder left that no connection has asked for again yet (now). */
  readonly orphanCount?: number;
  /** How many of those links this life has claimed so far (re-created or adopted): the sweep waits while it grows. */
  claimedCount?(): number;
  /** Removes those links (the forwarder calls it once, after its adopt grace period). */
  sweepOrphans?(): Promise<number>;
  /** Releases what the data plane holds (helper processes, channels) when the forwarder stops. */
  close?(): void;
}
