// TEST-ONLY: runs the in-project Kubernetes API server as a process (tests spawn it, e.g. inside a
// mesh's underlay namespace). Usage: main.ts --etcd URL[,URL] [--listen HOST:PORT] [--prefix /registry]
// [--crd FILE.yaml] (creates the CustomResourceDefinitions of FILE at start, like `kubectl apply -f`).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { startApiServer } from './server.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const etcd = arg('--etcd');
if (!etcd) {
  process.stderr.write('usage: main.ts --etcd URL [--listen HOST:PORT] [--prefix P]\n');
  process.exit(2);
}
const [host, port] = (arg('--listen') ?? '127.0.0.1:0').split(':');
const server = await startApiServer({ etcdEndpoints: etcd.split(','), host, port: Number(port ?? 0), prefix: arg('--prefix') });
const crdFile = arg('--crd');
if (crdFile) {
  for (const doc of parseAllDocuments(readFileSync(crdFile, 'utf8'))) {
    const res = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', body: JSON.stringify(doc.toJS()) });
    if (res.status !== 201 && res.status !== 409) throw new Error(`CRD from ${crdFile}: HTTP ${res.status} ${await res.text()}`);
  }
}
process.stdout.write(`apiserver listening on ${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
