// Folders whose code runs in production (the CLI imports from all of them): scripts/build.ts compiles
// them, scripts/start.js hashes them to know whether its build is current. Plain JavaScript: start.js
// reads it before any TypeScript loader is registered.
export const SOURCE_DIRS = ['cli', 'contracts', 'platform', 'broker', 'ingest', 'rules', 'alerts', 'simulator', 'board', 'dashboards', 'deploy'];
