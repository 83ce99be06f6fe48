// The package entry point (`import { MeshClient, startEndpoint } from 'nsm-ts'`): the components a
// program starts (clients, endpoints, and the rest of a mesh), the chain SDK to extend them, and the API types.
export { MeshClient } from './components/client.js';
export type { ClientOptions, KernelRequest } from './components/client.js';
export { startEndpoint } from './components/endpoint.js';
export type { EndpointOptions, RunningEndpoint } from './components/endpoint.js';
export { startPassthrough } from './components/passthrough.js';
export type { PassthroughOptions } from './components/passthrough.js';
export { startNsmgr } from './components/nsmgr.js';
export type { NsmgrOptions, RunningNsmgr } from './components/nsmgr.js';
export { startForwarder } from './components/forwarder.js';
export type { ForwarderOptions, RunningForwarder } from './components/forwarder.js';
export { startRegistry } from './components/registry.js';
export type { RegistryOptions, RunningRegistry } from './components/registry.js';
export { parseServiceUrl } from './components/service-url.js';
export type { ServiceRequestSpec } from './components/service-url.js';
export { chain, element, tail } from './sdk/core/chain.js';
export type { NetworkServiceElement, NetworkServiceHandler } from './sdk/core/chain.js';
export type { Ctx } from './sdk/core/ctx.js';
export { createLogger, silentLogger } from './sdk/core/log.js';
export type { Logger } from './sdk/core/log.js';
export { MeshError, InvalidArgumentError, NotFoundError, UnavailableError, Status } from './api/errors.js';
export { MeshMetrics, startMetricsServer, OtelHopTracer, otlpTracer } from './observability/index.js';
export type { MeshMetricsOptions, MetricsServer, OtelTracerOptions } from './observability/index.js';
export type { MetricsRecorder } from './sdk/core/metrics.js';
export type { HopTracer, HopSpan, TraceHeaders } from './sdk/core/tracing.js';
export * from './api/index.js';
