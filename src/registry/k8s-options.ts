// Command-line options of the Kubernetes registry backend (`--kubeconfig`, `--k8s-namespace`); k8s-config.ts
// turns them into a client configuration. Only types of the Kubernetes client here: every `nsm` process
// loads this file, and the client costs most of a process's start when loaded.
import type { KubeConfig } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';

export interface K8sConnectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
}

export interface K8sCliValues {
  kubeconfig?: string;
  k8sNamespace?: string;
}

/** Adds `--kubeconfig` and `--k8s-namespace` to a command. */
export function addK8sOptions(command: Command): Command {
  return command
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster) (k8s backend)'))
    .addOption(new Option('--k8s-namespace <name>', 'namespace of the NSM custom resources (default: NSM_NAMESPACE, in-cluster namespace, kubeconfig context, default) (k8s backend)'));
}
