// Public API of `nsm up` (src/cluster): scenario parsing, planning, bringing a mesh up, supervising,
// status and teardown; the commands in src/cmd only wire these.
export { checkScenarioText, loadScenario, parseScenario, readScenario, ScenarioError } from './scenario.js';
export type { CheckedScenario, Scenario } from './scenario.js';
export { planMesh, planNamespaces } from './plan.js';
export type { MeshPlan, ComponentPlan } from './mesh-plan.js';
export { meshPaths, runRoot, NSM_BIN, NSM_CMD } from './paths.js';
export { readState, writeState, listMeshes } from './state.js';
export type { MeshState } from './state.js';
export { existingNamespaces } from './networks.js';
export { keptLogsNote, upMesh } from './mesh-up.js';
export { Supervisor } from './supervisor.js';
export { removeKeptLogs, teardown } from './teardown.js';
export { meshPhase, meshStatus, statusHeadline } from './status.js';
export type { MeshStatus } from './status.js';
export { connectionTable, componentTable } from './table.js';
export { isAlive, procStartTime, sleep } from './proc.js';
