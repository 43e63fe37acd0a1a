// The rooms of src/ and the one direction their imports may point (test/architecture checks it
// in `npm test`). From the top: cli → serve (the composition root) → server/http, server/grpc
// (front ends) → observability → models (lifecycle) → batching → wire (formats) → engine → errors.
// A room may import any room below it, never one above, and nothing may form a cycle.

/** Rooms, highest first; each may import only rooms later in this list (and leaf modules). */
const ROOMS = ['cli', 'serve', 'server/http|server/grpc', 'observability', 'models', 'batching', 'wire', 'engine'];

const higherThan = (index) =>
  ROOMS.slice(0, index)
    .flatMap((r) => r.split('|'))
    .join('|');

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make the load order fragile and the rooms inseparable.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...ROOMS.slice(1).map((room, i) => ({
      name: `no-upward-import-from-${room.replace(/[|/]/g, '-')}`,
      severity: 'error',
      comment: `${room} sits below ${higherThan(i + 1)}: it may not import them.`,
      from: { path: `^src/(${room})/` },
      to: { path: `^src/(${higherThan(i + 1)})/` },
    })),
    {
      name: 'front-ends-stay-apart',
      severity: 'error',
      comment: 'REST and gRPC share code only through the rooms below them.',
      from: { path: '^src/server/http/' },
      to: { path: '^src/server/grpc/' },
    },
    {
      name: 'front-ends-stay-apart-grpc',
      severity: 'error',
      from: { path: '^src/server/grpc/' },
      to: { path: '^src/server/http/' },
    },
    {
      name: 'leaf-modules-import-nothing-above',
      severity: 'error',
      comment: 'errors.ts and version.ts are imported by every room.',
      from: { path: '^src/(errors|version)\\.ts$' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'client-is-standalone',
      severity: 'error',
      comment: 'The clients ship to apps that do not run a server.',
      from: { path: '^src/client/' },
      to: { path: '^src/(cli|serve|server|observability|models|batching)/' },
    },
    {
      name: 'src-never-imports-tests-or-benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build|deps)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
