// Builds the package into dist/: compiled ESM with declarations and source maps (sources inlined), plus the
// admin's React components as .tsx sources, which AdminJS bundles at start-up.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const components = join(root, 'src', 'admin', 'components');
const target = join(dist, 'admin', 'components');
mkdirSync(target, { recursive: true });
for (const file of readdirSync(components)) {
  if (file.endsWith('.tsx')) cpSync(join(components, file), join(target, file));
}
