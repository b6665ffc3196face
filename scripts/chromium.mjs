// Finds Debian's Chromium for the browser checks, installing it with apt-get when it is missing and this process
// may (root on a Debian-like machine, as on the project's machines and CI): `npm test` on a fresh machine needs
// nothing else. CHROMIUM_PATH overrides the location.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const DEFAULT_PATH = '/usr/bin/chromium';

export function ensureChromium() {
  const path = process.env.CHROMIUM_PATH ?? DEFAULT_PATH;
  if (existsSync(path)) return path;
  if (process.env.CHROMIUM_PATH) throw new Error(`CHROMIUM_PATH=${path} does not exist.`);
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (process.getuid?.() !== 0 || apt.status !== 0) {
    throw new Error(`Chromium is not installed at ${DEFAULT_PATH}: run "apt-get install -y chromium" (or set CHROMIUM_PATH).`);
  }
  console.log("Chromium is missing: installing Debian's chromium package (once).");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 });
  run(['update', '-qq']);
  const install = run(['install', '-y', '-qq', 'chromium']);
  if (install.status !== 0 || !existsSync(DEFAULT_PATH)) {
    throw new Error(`apt-get install chromium failed (exit ${install.status}); install it by hand or set CHROMIUM_PATH.`);
  }
  return DEFAULT_PATH;
}

/** Launch flags for a quiet headless start on a machine without outside network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
