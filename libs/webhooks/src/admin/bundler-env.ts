import { createHash } from 'node:crypto';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/**
 * Prepares the process for AdminJS's bundling of custom components. This module must be evaluated before `adminjs`
 * is (AdminJS reads ADMIN_JS_TMP_DIR when loaded), so it is the first import of the admin entry point.
 *
 * 1. AdminJS writes the bundle into ADMIN_JS_TMP_DIR (default `.adminjs` in the working directory) and, in
 *    production, serves it with Express's `sendFile`, which refuses paths through dot-directories; the working
 *    directory may also be read-only or shared by several apps. Default: a folder of this app under the OS temp dir.
 * 2. AdminJS's Babel step names a plugin by package name (`@babel/plugin-syntax-import-assertions`), and Babel resolves
 *    it from the working directory: an app started from anywhere but its own folder crashes while bundling. Node's
 *    global module paths are Babel's fallback, so the folder that holds AdminJS's copy of the plugin is added to them.
 *    This only adds a last place to look for packages that are not found otherwise.
 */
process.env.ADMIN_JS_TMP_DIR ??= join(tmpdir(), 'nestjs-outgoing-webhooks-admin', appKey());

function appKey(): string {
  const app = process.argv[1] ?? process.cwd();
  return createHash('sha256').update(app).digest('hex').slice(0, 16);
}

function addBabelPluginPath(): void {
  const require = createRequire(import.meta.url);
  let plugin: string;
  try {
    const fromAdmin = createRequire(require.resolve('adminjs')); // (its exports map hides package.json)
    plugin = fromAdmin.resolve('@babel/plugin-syntax-import-assertions/package.json');
  } catch {
    return; // adminjs is not installed: importing it will fail with its own, clearer error.
  }
  const modulesDir = dirname(dirname(dirname(plugin))); // <dir>/node_modules/@babel/<plugin>/package.json
  const paths = (process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean);
  if (paths.includes(modulesDir)) return;
  process.env.NODE_PATH = [...paths, modulesDir].join(delimiter);
  (Module as unknown as { _initPaths(): void })._initPaths();
}
addBabelPluginPath();
