// How the Kubernetes registry backend's options (k8s-options.ts) become a client configuration: an explicit
// kubeconfig file, else what any Kubernetes client uses (KUBECONFIG, ~/.kube/config, or the in-cluster
// service account). Imported on demand (`nsm registry --backend k8s`): the client is heavy to load.
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { InvalidArgumentError, messageOf } from '../api/errors.js';
import type { K8sCliValues, K8sConnectionOptions } from './k8s-options.js';

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Loads the configuration; throws InvalidArgumentError with one readable line. */
export function parseK8sOptions(values: K8sCliValues, env: NodeJS.ProcessEnv = process.env): K8sConnectionOptions {
  const kc = new KubeConfig();
  try {
    if (values.kubeconfig !== undefined) {
      if (!existsSync(values.kubeconfig)) throw new Error(`no such file: ${values.kubeconfig}`);
      kc.loadFromFile(values.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    throw new InvalidArgumentError(`--kubeconfig: ${messageOf(err)}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new InvalidArgumentError('--kubeconfig: no current cluster (give --kubeconfig, set KUBECONFIG, or run in a pod)');
  const namespace = values.k8sNamespace ?? env['NSM_NAMESPACE'] ?? inClusterNamespace() ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new InvalidArgumentError(`--k8s-namespace: ${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  return { kubeConfig: kc, namespace };
}

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
