// Proves the package from outside the repository, as a user installs it (npm run test:package):
//   1. `npm pack` holds only what a user needs;
//   2. a fresh Nest app (test/package/consumer) installs the tarball and its peers, compiles with tsc, and on SQLite
//      a saved entity reaches a receiver on 127.0.0.1 as a webhook verified with `standardwebhooks`;
//   3. the same app on PostgreSQL with synchronize off and WEBHOOK_MIGRATIONS: it works and no schema change is pending;
//   4. the same app with the admin, started from another working directory: /admin/login answers 200 and, logged in,
//      the dashboard renders in headless Chromium;
//   5. a receiver-only app (test/package/receiver) with @nestjs/common and @nestjs/core and none of the sender's stack
//      verifies a request signed by `standardwebhooks`, and refuses a tampered one.
// Traffic goes to 127.0.0.1 only (and the npm registry for installs).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { CHROMIUM_ARGS, ensureChromium } from './chromium.mjs';

const repo = join(import.meta.dirname, '..');
const pkgDir = join(repo, 'libs', 'webhooks');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'nestjs-outgoing-webhooks-check-'));
const started = Date.now();

const step = (message) => console.log(`[package] ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${message}`);
const fail = (message) => {
  throw new Error(message);
};

/** The version installed in the workspace, so the apps test what the suite tests (and npm's cache serves it). */
function workspaceVersion(name) {
  return JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;
}
const deps = (names) => Object.fromEntries(names.map((n) => [n, `^${workspaceVersion(n)}`]));

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000, ...options });
}

function npmInstall(dir, extra = []) {
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extra], { cwd: dir });
  } catch (error) {
    fail(`npm install in ${dir} failed:\n${error.stdout}\n${error.stderr}`);
  }
}

function tsc(dir) {
  try {
    run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir });
  } catch (error) {
    fail(`tsc in ${dir} failed:\n${error.stdout}${error.stderr}`);
  }
}

/** Runs a node script to its end; resolves with its stdout, rejects with its output when it fails or hangs. */
function node(script, { cwd, env, timeoutMs = 90_000 }) {
  try {
    return run(process.execPath, [script], { cwd, env: { ...process.env, ...env }, timeout: timeoutMs });
  } catch (error) {
    fail(`${script} failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  }
}

/** Starts a long-running node script and waits for its "listening <url>" line. */
function serve(script, { cwd, env }) {
  const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output, stop: () => child.kill('SIGTERM') };
}

async function withPg(fn) {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function checkTarball() {
  step('npm pack');
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir }))[0];
  const files = packed.files.map((f) => f.path);
  const unwanted = files.filter((f) => /\.spec\.|(^|\/)(test|tests|bench|fixtures|src)\//.test(f) || f.endsWith('.tsbuildinfo'));
  if (unwanted.length) fail(`the tarball holds files a user does not need:\n${unwanted.join('\n')}`);
  const required = [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/index.js.map',
    'dist/admin/index.js',
    'dist/receiver/index.js',
    'dist/receiver/index.d.ts',
    'dist/cli/index.js',
    'dist/cli/index.d.ts',
    'dist/admin/components/Dashboard.tsx',
  ];
  const missing = required.filter((f) => !files.includes(f));
  if (missing.length) fail(`the tarball lacks ${missing.join(', ')}`);
  step(`tarball ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed`);
  return join(work, packed.filename);
}

/** Copies test/package/<name> into the work folder and writes its manifest: the tarball plus workspace versions. */
function copyApp(name, tarball, { dependencies, devDependencies, allowScripts }) {
  const dir = join(work, name);
  cpSync(join(repo, 'test', 'package', name), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  manifest.dependencies = { 'nestjs-outgoing-webhooks': `file:${tarball}`, ...deps(dependencies) };
  manifest.devDependencies = deps(devDependencies);
  if (allowScripts) manifest.allowScripts = allowScripts;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

async function checkConsumer(tarball) {
  const dir = copyApp('consumer', tarball, {
    dependencies: [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/platform-express',
      '@nestjs/typeorm',
      '@nestjs/bull',
      'bull',
      'typeorm',
      'reflect-metadata',
      'rxjs',
      'better-sqlite3',
      'pg',
      'adminjs',
      '@adminjs/nestjs',
      '@adminjs/express',
      '@adminjs/typeorm',
      'express-session',
      'express-formidable',
    ],
    devDependencies: ['typescript', '@types/node', '@types/express', 'standardwebhooks'],
    allowScripts: { 'better-sqlite3': true },
  });
  step('consumer: npm install (tarball + peers)');
  npmInstall(dir);
  step('consumer: tsc');
  tsc(dir);

  const prefix = () => `pkgcheck-${randomBytes(4).toString('hex')}`;
  step('consumer on SQLite (synchronize)');
  const sqlite = node(join(dir, 'dist', 'check.js'), {
    cwd: dir,
    env: { DATABASE_URL: `sqlite:${join(work, 'consumer.sqlite')}`, REDIS_URL: redisUrl, BULL_PREFIX: prefix() },
  });
  if (!sqlite.includes('"ok":true')) fail(`SQLite check did not pass:\n${sqlite}`);
  step(`  ${sqlite.trim().split('\n').pop()}`);

  step('consumer on PostgreSQL (WEBHOOK_MIGRATIONS, synchronize off)');
  const schema = `wh_pkg_${randomBytes(5).toString('hex')}`;
  await withPg((c) => c.query(`CREATE SCHEMA "${schema}"`));
  try {
    const url = new URL(postgresUrl);
    url.searchParams.set('schema', schema);
    const out = node(join(dir, 'dist', 'check.js'), {
      cwd: dir,
      env: { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, BULL_PREFIX: prefix() },
    });
    if (!out.includes('"ok":true') || !out.includes('"pending":[]')) fail(`PostgreSQL check did not pass:\n${out}`);
    for (const line of out.trim().split('\n').slice(-2)) step(`  ${line}`);
    const types = await withPg((c) =>
      c.query(`SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = $1 AND column_name LIKE '%At'`, [schema]),
    );
    const dateTypes = types.rows.map((r) => r.data_type);
    if (dateTypes.join() !== 'timestamp with time zone') fail(`date columns on PostgreSQL are ${dateTypes.join(', ')}`);
  } finally {
    await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  }

  step('consumer with the admin, started from another working directory');
  const elsewhere = mkdtempSync(join(tmpdir(), 'nestjs-outgoing-webhooks-cwd-'));
  const env = { DATABASE_URL: `sqlite:${join(work, 'admin.sqlite')}`, REDIS_URL: redisUrl, BULL_PREFIX: prefix(), PORT: '0' };
  delete process.env.ADMIN_JS_TMP_DIR;
  const app = serve(join(dir, 'dist', 'admin-main.js'), { cwd: elsewhere, env });
  const browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
  try {
    const base = await app.url;
    const login = await fetch(`${base}/admin/login`);
    if (login.status !== 200) fail(`/admin/login answered ${login.status}`);
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${base}/admin`);
    await page.waitForURL(/\/admin\/login$/);
    await page.fill('input[name=email]', 'ops@example.com');
    await page.fill('input[name=password]', 'a-long-test-password');
    await page.press('input[name=password]', 'Enter');
    await page.getByTestId('webhooks-dashboard').waitFor();
    await page.getByText('No endpoint is failing.').waitFor();
    step('  /admin/login 200; logged in, the webhooks dashboard rendered');
  } catch (error) {
    fail(`${error.message}\napp output:\n${app.output()}`);
  } finally {
    await browser.close();
    app.stop();
    rmSync(elsewhere, { recursive: true, force: true });
  }
}

async function checkReceiver(tarball) {
  const dir = copyApp('receiver', tarball, {
    dependencies: ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'],
    devDependencies: ['typescript', '@types/node', '@types/express'],
  });
  step('receiver-only: npm install --omit=peer (no sender stack)');
  npmInstall(dir, ['--omit=peer']);
  const present = ['bull', '@nestjs/bull', 'typeorm', '@nestjs/typeorm', 'adminjs', '@adminjs/typeorm', '@nestjs/terminus'].filter((p) =>
    existsSync(join(dir, 'node_modules', p)),
  );
  if (present.length) fail(`the receiver-only install holds ${present.join(', ')}`);
  // The sender's own dependencies come with the package; remove them to prove ./receiver never loads them.
  for (const p of ['axios', 'ipaddr.js']) rmSync(join(dir, 'node_modules', p), { recursive: true, force: true });
  step('receiver-only: tsc');
  tsc(dir);

  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const app = serve(join(dir, 'dist', 'main.js'), { cwd: dir, env: { WEBHOOK_SECRET: secret } });
  try {
    const base = await app.url;
    const body = JSON.stringify({ type: 'order.created', data: { id: 1 } });
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const now = new Date();
    const signature = new Webhook(secret).sign(id, now, body);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    };
    const good = await fetch(`${base}/hooks`, { method: 'POST', headers, body });
    if (good.status !== 204) fail(`a signed request got ${good.status}: ${await good.text()}`);
    const tampered = await fetch(`${base}/hooks`, { method: 'POST', headers: { ...headers, 'webhook-id': `${id}x` }, body });
    if (tampered.status !== 401) fail(`a tampered request got ${tampered.status}`);
    step('  signed request 204, tampered request 401');
  } catch (error) {
    fail(`${error.message}\napp output:\n${app.output()}`);
  } finally {
    app.stop();
  }
}

try {
  step(`working in ${work}`);
  const tarball = checkTarball();
  await checkReceiver(tarball);
  await checkConsumer(tarball);
  step('all package checks passed');
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
