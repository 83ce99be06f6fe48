// Public API of the dashboard: the data feed, the pure status-to-graph functions and the HTTP server.
export { DashboardFeed } from './feed.js';
export type { DashboardFeedOptions } from './feed.js';
export { dashboardView, connectionRows, graphElements, summarize, trafficOf, componentId, hopId, nodeId } from './graph.js';
export type { ConnectionRow, DashboardView, GraphElement, Summary, Traffic } from './graph.js';
export { startDashboardServer, WEB_DIR } from './server.js';
export type { DashboardServer } from './server.js';
export type { DashInput, DashStatus, MonitoredConnection } from './types.js';
