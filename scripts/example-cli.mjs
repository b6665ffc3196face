// Runs the example's command line (`npm run cli -- <command>`) from the build in dist/, building the workspace
// first when that build is missing or older than a source file of the library or the example (as `npm start` does
// each time). The tests use `ensureCliBuilt()` and `CLI_ENTRY` to run the built CLI as a child process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = join(import.meta.dirname, '..');
export const CLI_ENTRY = join(repo, 'dist', 'apps', 'example', 'src', 'cli.js');
/** The example app's entry point in the build (what `npm start` runs); the tests start it as a child process. */
export const MAIN_ENTRY = join(repo, 'dist', 'apps', 'example', 'src', 'main.js');
/** Held while one process builds, so that two test files (or a test and `npm run cli`) never build at once. */
const LOCK = join(repo, '.build-lock');
const BUILT = [CLI_ENTRY, join(repo, 'libs', 'webhooks', 'dist', 'cli', 'index.js'), join(repo, 'libs', 'webhooks', 'dist', 'index.js')];
const SOURCES = [join(repo, 'libs', 'webhooks', 'src'), join(repo, 'apps', 'example', 'src')];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'libs/webhooks/tsconfig.build.json', 'libs/webhooks/package.json'].map((f) =>
  join(repo, f),
);

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.(tsx?|json)$/.test(path) && !/\.spec\.tsx?$/.test(path) ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Whether dist/ holds a build of the CLI at least as new as every source file. */
export function cliBuildIsFresh() {
  let built;
  try {
    built = Math.min(...BUILT.map((f) => statSync(f).mtimeMs));
  } catch {
    return false;
  }
  return Math.max(...SOURCES.map(newest), ...CONFIGS.map((f) => statSync(f).mtimeMs)) <= built;
}

/**
 * Builds the workspace (`npm run build`) unless the built CLI is fresh; build output goes to stderr. One build at a
 * time: a caller that finds another building waits for it (a lock left by a build that died is taken after 5 min).
 */
export function ensureCliBuilt() {
  if (cliBuildIsFresh()) return false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      let age;
      try {
        age = Date.now() - statSync(LOCK).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > 300_000) rmSync(LOCK, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    if (cliBuildIsFresh()) return false; // another process built it while this one waited
    process.stderr.write('Building the library and the example (the built CLI is missing or older than the sources)...\n');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: ['ignore', process.stderr, process.stderr] });
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureCliBuilt();
  process.argv = [process.argv[0], CLI_ENTRY, ...process.argv.slice(2)];
  await import(pathToFileURL(CLI_ENTRY).href);
}
