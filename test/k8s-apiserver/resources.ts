// TEST-ONLY Kubernetes API server: the resource table (the built-in CustomResourceDefinition
// resource plus every registered CRD) and the discovery documents built from it.
import { ApiError, type KObject } from './storage.js';

export interface Resource {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
}

export const CRD_RESOURCE: Resource = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  namespaced: false,
  shortNames: ['crd', 'crds'],
};

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[] };
  versions?: Array<{ name?: string; served?: boolean; storage?: boolean }>;
}

/** The resources a CRD object defines (one per served version); 422 Invalid for a malformed CRD. */
export function resourcesOfCrd(crd: KObject): Resource[] {
  const spec = (crd['spec'] ?? {}) as CrdSpec;
  const names = spec.names ?? {};
  const bad = (msg: string) => new ApiError(422, 'Invalid', `CustomResourceDefinition ${crd.metadata?.name ?? '?'} is invalid: ${msg}`);
  if (!spec.group || !names.plural || !names.kind) throw bad('spec.group, spec.names.plural and spec.names.kind are required');
  if (crd.metadata?.name !== `${names.plural}.${spec.group}`) throw bad(`metadata.name must be ${names.plural}.${spec.group}`);
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') throw bad('spec.scope must be Namespaced or Cluster');
  const versions = (spec.versions ?? []).filter((v) => v.served !== false && v.name);
  if (versions.length === 0) throw bad('spec.versions: at least one served version is required');
  return versions.map((v) => ({
    group: spec.group!,
    version: v.name!,
    plural: names.plural!,
    singular: names.singular ?? names.kind!.toLowerCase(),
    kind: names.kind!,
    listKind: names.listKind ?? `${names.kind}List`,
    namespaced: spec.scope === 'Namespaced',
    shortNames: names.shortNames ?? [],
  }));
}

/** What the server accepts: built-ins plus CRDs, keyed by `group/version/plural`. */
export class ResourceTable {
  private readonly byCrd = new Map<string, Resource[]>();

  all(): Resource[] {
    return [CRD_RESOURCE, ...[...this.byCrd.values()].flat()];
  }

  find(group: string, version: string, plural: string): Resource | undefined {
    return this.all().find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  setCrd(name: string, crd: KObject | undefined): void {
    if (crd === undefined) this.byCrd.delete(name);
    else this.byCrd.set(name, resourcesOfCrd(crd));
  }

  /** GET /apis */
  groupList(): unknown {
    const groups = new Map<string, string[]>();
    for (const r of this.all()) {
      const vs = groups.get(r.group) ?? [];
      if (!vs.includes(r.version)) vs.push(r.version);
      groups.set(r.group, vs);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, vs]) => ({
        name,
        versions: vs.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${name}/${vs[0]}`, version: vs[0] },
      })),
    };
  }

  /** GET /apis/{group}/{version}; undefined when the group/version is unknown. */
  resourceList(group: string, version: string): unknown {
    const rs = this.all().filter((r) => r.group === group && r.version === version);
    if (rs.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${group}/${version}`,
      resources: rs.map((r) => ({
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        shortNames: r.shortNames,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
    };
  }
}
