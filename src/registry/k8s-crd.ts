// NSM's custom resources on Kubernetes: group networkservicemesh.io, version v1, kinds NetworkService
// and NetworkServiceEndpoint with upstream's plural and short names, and their CustomResourceDefinitions
// (what deploy/crds.yaml holds and what the k8s registry backend can register itself).

export const NSM_GROUP = 'networkservicemesh.io';
export const NSM_VERSION = 'v1';

export interface CrdNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

export const NS_NAMES: CrdNames = {
  kind: 'NetworkService',
  listKind: 'NetworkServiceList',
  plural: 'networkservices',
  singular: 'networkservice',
  shortNames: ['netsvc', 'netsvcs'],
};

export const NSE_NAMES: CrdNames = {
  kind: 'NetworkServiceEndpoint',
  listKind: 'NetworkServiceEndpointList',
  plural: 'networkserviceendpoints',
  singular: 'networkserviceendpoint',
  shortNames: ['nse', 'nses'],
};

/** The CustomResourceDefinition (apiextensions.k8s.io/v1) of one kind: namespaced, spec kept as given. */
export function crdOf(names: CrdNames): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${NSM_GROUP}` },
    spec: {
      group: NSM_GROUP,
      scope: 'Namespaced',
      names,
      versions: [
        {
          name: NSM_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      ],
    },
  };
}
