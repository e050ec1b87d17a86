/**
 * The floors of the house, lowest first. A module may import its own floor and the floors below
 * it, never one above: the engine never reaches up into the HTTP service or a command-line entry
 * point, and each stage only knows the stages it builds on. Tests sit on top of everything (a
 * test beside the ranker may drive the whole app), and nothing but tests imports `test/`.
 * `npm test` runs this (`npm run lint:layers`).
 */
const FLOORS = [
  'core', // product model, domain vocabulary, embedders, text analysis, metrics, seeded random numbers
  'retrieval/index', // text and vector stores, index back ends (embedded, Elasticsearch, Qdrant)
  'behavior', // events, the stream, shopper state
  'retrieval/recall', // hybrid search recall, feed routes and fusion, similar items
  'ranking', // CTR/CVR ranker
  'diversity', // MMR
  'coupons', // coupon ledger, targeting
  'indexer', // catalog → both indexes
  'models', // training-side TypeScript helpers
  'pipeline', // one request through recall → rank → diversify → page → coupons
  'src', // the Hono app, its routes, the service assembly, settings
  'eval', // offline evaluation and the simulator
  'bench', // benchmarks
  'cli', // entry points: serve, index, consume, eval, bench, train, config
];

const escape = (s) => s.replace(/[/.]/g, (c) => `\\${c}`);
const under = (floor) => `^${escape(floor)}/`;
const TEST = '(\\.test\\.ts$|^test/)';

module.exports = {
  forbidden: [
    ...FLOORS.slice(0, -1).map((floor, i) => ({
      name: `floor-${floor}`,
      comment: `${floor}/ may only import ${FLOORS.slice(0, i + 1).join(', ')}`,
      severity: 'error',
      from: { path: under(floor), pathNot: TEST },
      to: { path: FLOORS.slice(i + 1).map(under) },
    })),
    {
      name: 'no-test-imports',
      comment: 'only tests import test helpers, fakes and conformance suites',
      severity: 'error',
      from: { pathNot: TEST },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles, in any folder',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.cache|\\.data|out|scripts|data|docs)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
