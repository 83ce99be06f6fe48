// The data-path liveness check that heal runs: declared here, implemented by the
// data plane (src/dataplane/liveness.ts) and handed to the client by its component.
import type { Connection } from '../../api/index.js';

/** Resolves true when the connection carries traffic (or cannot be checked). */
export type LivenessCheck = (conn: Connection) => Promise<boolean>;
