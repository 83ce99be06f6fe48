// Dependency rules for the architecture of DESIGN.md section 3 (checked by scripts/test.sh):
// sys <- api <- sdk/core <- sdk/tools <- sdk elements <- sdk/chains <- components <- cmd/cluster;
// dataplane, registry stores, security, observability and platforms are used by components and
// implement interfaces the sdk declares: they may import api, sdk/core and sdk/tools, and only
// types from sdk elements; never chains, components, cmd or cluster.
const IMPL = '^src/(dataplane|registry|security|observability|platforms)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules of src/ form no import cycle (type-only imports included).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'sys-is-a-leaf',
      severity: 'error',
      comment: 'src/sys (the libc bindings shared by src/api and src/dataplane) imports nothing else of the project.',
      from: { path: '^src/sys/' },
      to: { path: '^src/', pathNot: '^src/sys/' },
    },
    {
      name: 'api-is-the-bottom',
      severity: 'error',
      comment: 'src/api imports nothing else of the project but the libc bindings of src/sys (a leaf below it).',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: '^src/(api|sys)/' },
    },
    {
      name: 'sdk-core-over-api-only',
      severity: 'error',
      comment: 'src/sdk/core depends on nothing above it: api only.',
      from: { path: '^src/sdk/core/' },
      to: { path: '^src/', pathNot: '^src/(api|sdk/core)/' },
    },
    {
      name: 'sdk-tools-over-core',
      severity: 'error',
      comment: 'src/sdk/tools: helpers that are not chain elements; they use api and sdk/core only.',
      from: { path: '^src/sdk/tools/' },
      to: { path: '^src/', pathNot: '^src/(api|sdk/core|sdk/tools)/' },
    },
    {
      name: 'sdk-elements-over-tools',
      severity: 'error',
      comment: 'Chain elements (src/sdk/networkservice, src/sdk/registry) use api, sdk/core, sdk/tools and other elements; never chains or anything outside the sdk.',
      from: { path: '^src/sdk/(networkservice|registry)/' },
      to: { path: '^src/', pathNot: '^src/(api|sdk/(core|tools|networkservice|registry))/' },
    },
    {
      name: 'sdk-chains-inside-sdk',
      severity: 'error',
      comment: 'Chains only assemble sdk elements: they import nothing outside api and the sdk.',
      from: { path: '^src/sdk/chains/' },
      to: { path: '^src/', pathNot: '^src/(api|sdk)/' },
    },
    {
      name: 'implementations-below-chains',
      severity: 'error',
      comment: 'Data plane, registry stores, security, observability and platforms are used by components; they never import chains, components, cmd or cluster.',
      from: { path: IMPL },
      to: { path: '^src/(sdk/chains|components|cmd|cluster)/' },
    },
    {
      name: 'implementations-take-only-types-from-elements',
      severity: 'error',
      comment: 'An implementation may import the interfaces an sdk element declares (import type), not the element itself.',
      from: { path: IMPL },
      to: { path: '^src/sdk/(networkservice|registry)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'components-below-cmd-and-cluster',
      severity: 'error',
      comment: 'Components are started by cmd and cluster, never the other way round.',
      from: { path: '^src/components/' },
      to: { path: '^src/(cmd|cluster)/' },
    },
    {
      name: 'cluster-below-cmd',
      severity: 'error',
      comment: 'src/cluster is used by the CLI commands; it does not import them.',
      from: { path: '^src/cluster/' },
      to: { path: '^src/cmd/' },
    },
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'Shipped code never imports tests or benchmarks.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'src-not-to-dev-deps',
      severity: 'error',
      comment: 'Shipped code imports only runtime dependencies (types from dev dependencies are fine).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
