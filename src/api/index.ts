// The NSM v1 API: generated message types and service definitions, re-exported
// from one place so the rest of the code never imports src/api/generated directly.
export {
  Connection,
  ConnectionEvent,
  ConnectionEventType,
  Mechanism,
  MonitorConnectionDefinition,
  MonitorScopeSelector,
  Path,
  PathSegment,
  State,
} from './generated/connection.js';
export type { MonitorConnectionClient, MonitorConnectionServiceImplementation } from './generated/connection.js';
export {
  ConnectionContext,
  DNSContext,
  EthernetContext,
  IPContext,
  IpFamily_Family,
  Route,
} from './generated/connectioncontext.js';
export { NetworkServiceDefinition, NetworkServiceRequest } from './generated/networkservice.js';
export type { NetworkServiceClient, NetworkServiceImplementation } from './generated/networkservice.js';
export {
  Destination,
  Match,
  Metadata,
  NetworkService,
  NetworkServiceEndpoint,
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointRegistryDefinition,
  NetworkServiceEndpointResponse,
  NetworkServiceLabels,
  NetworkServiceQuery,
  NetworkServiceRegistryDefinition,
  NetworkServiceResponse,
} from './generated/registry.js';
export type {
  NetworkServiceEndpointRegistryClient,
  NetworkServiceEndpointRegistryServiceImplementation,
  NetworkServiceRegistryClient,
  NetworkServiceRegistryServiceImplementation,
} from './generated/registry.js';
export { Empty } from './generated/google/protobuf/empty.js';
export * from './transport.js';
