// NSM v1's messages and services as an upstream client sees them on the wire, written as data: for
// each package, its messages (field -> "number type"), enums and rpcs. `upstreamPackage()` turns
// them into a gRPC package definition through proto-loader's JSON descriptor form (no .proto text),
// so tests can talk to our servers exactly as an independent client built from those facts would.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Field name -> "NUMBER TYPE", TYPE one of: a scalar, a message or enum name, `repeated T`, `map<K,V>`. */
type Fields = Record<string, string>;
interface PackageFacts {
  messages?: Record<string, Fields>;
  enums?: Record<string, string[]>; // values numbered from 0 in order
  services?: Record<string, Record<string, string>>; // rpc -> "Request -> Response" or "Request -> stream Response"
}

const TIME = 'google.protobuf.Timestamp';
const STRINGS = 'map<string,string>';

export const WIRE: Record<string, PackageFacts> = {
  'google.protobuf': {
    messages: { Timestamp: { seconds: '1 int64', nanos: '2 int32' }, Empty: {} },
  },
  // Addresses, routes, DNS and L2 details of a connection.
  connectioncontext: {
    enums: { AddressFamily: ['IPV4', 'IPV6'] },
    messages: {
      ConnectionContext: { ip_context: '1 IPContext', dns_context: '2 DNSContext', ethernet_context: '3 EthernetContext', extra_context: `4 ${STRINGS}`, MTU: '5 uint32' },
      IPContext: {
        src_ip_addrs: '1 repeated string',
        dst_ip_addrs: '2 repeated string',
        src_ip_required: '3 bool',
        dst_ip_required: '4 bool',
        src_routes: '5 repeated Route',
        dst_routes: '6 repeated Route',
        excluded_prefixes: '7 repeated string',
        ip_neighbors: '8 repeated IpNeighbor',
        extra_prefix_request: '9 repeated ExtraPrefixRequest',
        extra_prefixes: '10 repeated string',
      },
      Route: { prefix: '1 string', nextHop: '2 string' },
      IpNeighbor: { ip: '1 string', hardware_address: '2 string' },
      IpFamily: { family: '1 AddressFamily' },
      ExtraPrefixRequest: { addr_family: '1 IpFamily', prefix_len: '2 uint32', required_number: '3 uint32', requested_number: '4 uint32' },
      DNSContext: { configs: '1 repeated DNSConfig' },
      DNSConfig: { dns_server_ips: '1 repeated string', search_domains: '2 repeated string' },
      EthernetContext: { src_mac: '1 string', dst_mac: '2 string', vlan_tag: '3 int32' },
    },
  },
  // A connection, the path it took, and the monitor stream of a hop's connections.
  connection: {
    enums: { State: ['UP', 'DOWN', 'REFRESH_REQUESTED', 'RESELECT_REQUESTED'], ConnectionEventType: ['INITIAL_STATE_TRANSFER', 'UPDATE', 'DELETE'] },
    messages: {
      Connection: {
        id: '1 string',
        network_service: '2 string',
        mechanism: '3 Mechanism',
        context: '4 connectioncontext.ConnectionContext',
        labels: `5 ${STRINGS}`,
        path: '6 Path',
        network_service_endpoint_name: '7 string',
        payload: '8 string',
        state: '9 State',
      },
      Mechanism: { cls: '1 string', type: '2 string', parameters: `3 ${STRINGS}` },
      Path: { index: '1 uint32', path_segments: '2 repeated PathSegment' },
      PathSegment: { name: '1 string', id: '2 string', token: '3 string', expires: `4 ${TIME}`, metrics: `5 ${STRINGS}` },
      ConnectionEvent: { type: '1 ConnectionEventType', connections: '2 map<string,Connection>' },
      MonitorScopeSelector: { path_segments: '1 repeated PathSegment', network_services: '2 repeated string' },
    },
    services: { MonitorConnection: { MonitorConnections: 'MonitorScopeSelector -> stream ConnectionEvent' } },
  },
  networkservice: {
    messages: { NetworkServiceRequest: { connection: '1 connection.Connection', mechanism_preferences: '2 repeated connection.Mechanism' } },
    services: { NetworkService: { Request: 'NetworkServiceRequest -> connection.Connection', Close: 'connection.Connection -> google.protobuf.Empty' } },
  },
  // Network services (with their selection policy) and the endpoints that offer them.
  registry: {
    messages: {
      NetworkService: { name: '1 string', payload: '2 string', matches: '3 repeated Match', path_ids: '4 repeated string' },
      Match: { source_selector: `1 ${STRINGS}`, routes: '2 repeated Destination', fallthrough: '3 bool', metadata: '4 Metadata' },
      Destination: { destination_selector: `1 ${STRINGS}`, weight: '2 uint32' },
      Metadata: { labels: `1 ${STRINGS}` },
      NetworkServiceEndpoint: {
        name: '1 string',
        network_service_names: '2 repeated string',
        network_service_labels: '3 map<string,NetworkServiceLabels>',
        url: '4 string',
        expiration_time: `5 ${TIME}`,
        initial_registration_time: `6 ${TIME}`,
        path_ids: '7 repeated string',
      },
      NetworkServiceLabels: { labels: `1 ${STRINGS}` },
      NetworkServiceQuery: { network_service: '1 NetworkService', watch: '2 bool' },
      NetworkServiceResponse: { network_service: '1 NetworkService', deleted: '2 bool' },
      NetworkServiceEndpointQuery: { network_service_endpoint: '1 NetworkServiceEndpoint', watch: '2 bool' },
      NetworkServiceEndpointResponse: { network_service_endpoint: '1 NetworkServiceEndpoint', deleted: '2 bool' },
    },
    services: {
      NetworkServiceRegistry: {
        Register: 'NetworkService -> NetworkService',
        Find: 'NetworkServiceQuery -> stream NetworkServiceResponse',
        Unregister: 'NetworkService -> google.protobuf.Empty',
      },
      NetworkServiceEndpointRegistry: {
        Register: 'NetworkServiceEndpoint -> NetworkServiceEndpoint',
        Find: 'NetworkServiceEndpointQuery -> stream NetworkServiceEndpointResponse',
        Unregister: 'NetworkServiceEndpoint -> google.protobuf.Empty',
      },
    },
  },
};

/** One field in protobufjs's JSON descriptor form. */
function fieldJson(pkg: string, msg: string, name: string, spec: string): Record<string, unknown> {
  const m = /^(\d+) (?:(repeated) )?(?:map<(\w+),([\w.]+)>|([\w.]+))$/.exec(spec);
  if (!m) throw new Error(`${pkg}.${msg}.${name}: cannot read "${spec}"`);
  const id = Number(m[1]);
  if (m[3]) return { id, keyType: m[3], type: m[4] };
  return { id, type: m[5], ...(m[2] ? { rule: 'repeated' } : {}) };
}

function rpcJson(spec: string): Record<string, unknown> {
  const m = /^([\w.]+) -> (stream )?([\w.]+)$/.exec(spec);
  if (!m) throw new Error(`cannot read rpc "${spec}"`);
  return { requestType: m[1], responseType: m[3], ...(m[2] ? { responseStream: true } : {}) };
}

/** The JSON descriptor of every package above, nested by dotted package name. */
export function wireDescriptor(): { nested: Record<string, unknown> } {
  const root: { nested: Record<string, unknown> } = { nested: {} };
  for (const [pkg, facts] of Object.entries(WIRE)) {
    let ns = root;
    for (const part of pkg.split('.')) ns = (ns.nested[part] ??= { nested: {} }) as typeof root;
    for (const [msg, fields] of Object.entries(facts.messages ?? {})) {
      ns.nested[msg] = { fields: Object.fromEntries(Object.entries(fields).map(([f, spec]) => [f, fieldJson(pkg, msg, f, spec)])) };
    }
    for (const [e, values] of Object.entries(facts.enums ?? {})) ns.nested[e] = { values: Object.fromEntries(values.map((v, i) => [v, i])) };
    for (const [svc, rpcs] of Object.entries(facts.services ?? {})) {
      ns.nested[svc] = { methods: Object.fromEntries(Object.entries(rpcs).map(([r, spec]) => [r, rpcJson(spec)])) };
    }
  }
  return root;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** grpc-js constructors of the services above (`pkg.networkservice.NetworkService`, `pkg.registry....`), snake_case fields. */
export function upstreamPackage(): any {
  const def = protoLoader.fromJSON(wireDescriptor() as Parameters<typeof protoLoader.fromJSON>[0], { keepCase: true, longs: String, enums: String, defaults: true });
  return grpc.loadPackageDefinition(def);
}
