// The mutating admission decision for `nsm webhook` (AdmissionReview v1): a Pod annotated
// `networkservicemesh.io: kernel://svc/nsm-1[,...]` (upstream's annotation key and value) gets an init
// container `nsm nsc --once` (the app starts only once the services answer) and a sidecar `nsm nsc` that
// holds the connections, both with NSM_NETWORK_SERVICES from the annotation, plus the node's nsmgr socket.
// Everything else is allowed untouched; a malformed review is denied with a message, never thrown.

export const NSM_ANNOTATION = 'networkservicemesh.io';
export const NSM_SOCKET_DIR = '/var/lib/networkservicemesh';

export interface InjectOptions {
  /** The `nsm` image for the added containers. */
  image: string;
  /** Annotation key that asks for NSM (default networkservicemesh.io). */
  annotation?: string;
  /** Extra environment for the added containers (e.g. NSM_LOG_LEVEL). */
  env?: Record<string, string>;
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
}

export interface AdmissionReviewOut {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

interface PodLike {
  metadata?: { annotations?: Record<string, unknown> };
  spec?: { containers?: Array<{ name?: string }>; initContainers?: unknown[]; volumes?: unknown[] };
}

const CLIENT = 'nsm-client';
const CLIENT_INIT = 'nsm-client-init';

function review(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function deny(uid: string, message: string, code = 400): AdmissionReviewOut {
  return review({ uid, allowed: false, status: { code, message } });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks the annotation's value: comma-separated service URLs such as kernel://svc/nsm-1?app=x. */
export function parseServiceList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error('empty: want kernel://service/ifname[,...]');
  for (const item of items) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new Error(`"${item}" is not a service URL (want kernel://service/ifname)`);
    }
    if (url.hostname === '' || !/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) throw new Error(`"${item}" names no service (want kernel://service/ifname)`);
  }
  return items;
}

/** The JSON patch that adds the client to `pod` (empty when the pod already has it). */
export function clientPatch(pod: PodLike, services: string, opts: InjectOptions): JsonPatchOp[] {
  const spec = pod.spec ?? {};
  if ((spec.containers ?? []).some((c) => c?.name === CLIENT)) return [];
  const env = [
    { name: 'NSM_NETWORK_SERVICES', value: services },
    { name: 'NSM_CONNECT_TO', value: `unix://${NSM_SOCKET_DIR}/nsm.io.sock` },
    { name: 'NSM_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
  ];
  const common = {
    image: opts.image,
    env,
    volumeMounts: [{ name: 'nsm-socket', mountPath: NSM_SOCKET_DIR, readOnly: true }],
    securityContext: { capabilities: { add: ['NET_ADMIN'] } },
  };
  const init = { name: CLIENT_INIT, command: ['nsm', 'nsc', '--once'], ...common };
  const sidecar = { name: CLIENT, command: ['nsm', 'nsc'], ...common };
  const volume = { name: 'nsm-socket', hostPath: { path: NSM_SOCKET_DIR, type: 'DirectoryOrCreate' } };
  const ops: JsonPatchOp[] = [];
  ops.push(Array.isArray(spec.initContainers) ? { op: 'add', path: '/spec/initContainers/-', value: init } : { op: 'add', path: '/spec/initContainers', value: [init] });
  ops.push({ op: 'add', path: '/spec/containers/-', value: sidecar });
  ops.push(Array.isArray(spec.volumes) ? { op: 'add', path: '/spec/volumes/-', value: volume } : { op: 'add', path: '/spec/volumes', value: [volume] });
  return ops;
}

/** Answers one AdmissionReview (already parsed JSON, of any shape). */
export function admit(body: unknown, opts: InjectOptions): AdmissionReviewOut {
  if (!isObject(body)) return deny('', 'malformed AdmissionReview: body is not a JSON object');
  const request = body['request'];
  if (body['kind'] !== 'AdmissionReview' || !isObject(request)) return deny('', 'malformed AdmissionReview: want kind AdmissionReview with a request');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid === '') return deny('', 'malformed AdmissionReview: request.uid is missing');
  const kind = isObject(request['kind']) ? request['kind']['kind'] : undefined;
  if (kind !== 'Pod' || (request['operation'] !== undefined && request['operation'] !== 'CREATE')) return review({ uid, allowed: true });
  const pod = request['object'];
  if (!isObject(pod)) return deny(uid, 'malformed AdmissionReview: request.object (the Pod) is missing');
  const p = pod as PodLike;
  if (p.spec !== undefined && (!isObject(p.spec) || (p.spec.containers !== undefined && !Array.isArray(p.spec.containers)))) {
    return deny(uid, 'malformed AdmissionReview: request.object.spec.containers is not a list');
  }
  const key = opts.annotation ?? NSM_ANNOTATION;
  const annotations = p.metadata?.annotations;
  const value = isObject(annotations) ? annotations[key] : undefined;
  if (value === undefined) return review({ uid, allowed: true });
  if (typeof value !== 'string') return deny(uid, `annotation ${key}: not a string`);
  let services: string[];
  try {
    services = parseServiceList(value);
  } catch (err) {
    return deny(uid, `annotation ${key}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ops = clientPatch(p, services.join(','), opts);
  if (ops.length === 0) return review({ uid, allowed: true });
  return review({ uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
}
