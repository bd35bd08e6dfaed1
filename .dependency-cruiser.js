/** Who may import what. Run by `npm run lint` (part of `npm test`). */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'libs/credentials is the pure domain: no framework, broker, ORM, socket or driver imports.',
      severity: 'error',
      from: { path: '^libs/credentials/' },
      to: { path: ['node_modules/(@nestjs|kafkajs|typeorm|socket\\.io|pg|express|class-validator|jose)'] },
    },
    {
      name: 'domain-imports-no-libs',
      comment: 'The domain depends on nothing else of ours.',
      severity: 'error',
      from: { path: '^libs/credentials/' },
      to: { path: '^libs/(?!credentials/)' },
    },
    {
      name: 'read-side-above-log-and-persistence',
      comment:
        'libs/projection (fold, projector, rebuild, compare, cutover) sits above event-log and persistence: they never import it.',
      severity: 'error',
      from: { path: '^libs/(credentials|crypto|config|persistence|event-log)/' },
      to: { path: '^libs/projection/' },
    },
    {
      name: 'libs-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-are-independent',
      comment: 'An app imports libs, never another app.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-nest-http-in-libs',
      comment:
        'Nothing under libs/ throws HttpException: domain errors carry codes, each app maps them. The agent gateway and the metrics controller are the Nest libraries (no HTTP errors thrown).',
      severity: 'error',
      from: { path: '^libs/', pathNot: '^libs/(agent-gateway|observability)/' },
      to: { path: 'node_modules/@nestjs/(common|core|platform-express)' },
    },
    {
      name: 'conformance-agent-from-the-document-only',
      comment:
        'The strict agent of the conformance suite is written from docs/agent-protocol.md alone: socket.io-client, node built-ins and its own files, nothing of ours.',
      severity: 'error',
      from: { path: '^apps/gateway/src/conformance/(strict-agent|sequence-checker|key-set)\\.ts$' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [
          '^node_modules/socket\\.io-client/',
          '^apps/gateway/src/conformance/(sequence-checker|key-set)\\.ts$',
        ],
      },
    },
    {
      name: 'data-layer-in-persistence',
      comment:
        'TypeORM and pg are the data layer (docs/architecture.md): only libs/persistence imports them; everything else names its SQL through persistence functions. Tests, libs/testing and bench/ may look at the database directly.',
      severity: 'error',
      from: {
        path: '^(apps|libs)/',
        pathNot: ['^libs/(persistence|testing)/', '\\.(spec|int-spec|e2e-spec|e2e-failing)\\.ts$', '/testing/'],
      },
      to: { path: 'node_modules/(typeorm|pg|pg-[^/]+)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-code-never-imports-tests',
      severity: 'error',
      from: { pathNot: '(\\.(spec|int-spec|e2e-spec)\\.ts$|/testing/)' },
      to: { path: '(\\.(spec|int-spec|e2e-spec)\\.ts$|^libs/testing/|/testing/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
