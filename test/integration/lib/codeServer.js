// code-server for the tests and `npm start`: where it is installed, installing extensions into a
// profile, starting it on a free 127.0.0.1 port, and stopping its whole process group.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const CODE_SERVER_DIR = path.join(ROOT, '.vscode-test', 'code-server');
const ENTRY = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Installs code-server into the cache if it is not there yet (instant when it is). */
function ensureInstalled() {
  if (fs.existsSync(ENTRY) && fs.readdirSync(CODE_SERVER_DIR).some((f) => f.startsWith('.installed-'))) return;
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'installCodeServer.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/installCodeServer.sh failed');
}

/**
 * The environment code-server and its extension host get: ours, minus the VS Code variables of a
 * terminal we may run in (VSCODE_IPC_HOOK_CLI would make code-server hand the job to that window).
 */
function childEnv(extra = {}) {
  const env = {};
  // PORT would override --bind-addr; PASSWORD/HASHED_PASSWORD have no business in a test server.
  const drop = new Set(['ELECTRON_RUN_AS_NODE', 'PORT', 'PASSWORD', 'HASHED_PASSWORD']);
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VSCODE_') && !drop.has(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Runs code-server's CLI (e.g. --install-extension) against a profile; throws with its output on failure. */
function cli(args, { userDataDir, extensionsDir }) {
  const r = spawnSync(process.execPath, [ENTRY, ...configArgs(userDataDir), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, ...args], {
    encoding: 'utf8',
    env: childEnv(),
    timeout: 120_000,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 || /Failed Installing Extensions|Error:/.test(output)) {
    throw new Error(`code-server ${args.join(' ')} failed (exit ${r.status}):\n${output}`);
  }
  return output;
}

/** A config file of the profile's own: code-server would otherwise create ~/.config/code-server/config.yaml. */
function configArgs(userDataDir) {
  const file = path.join(userDataDir, 'code-server.yaml');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(userDataDir, { recursive: true });
    fs.writeFileSync(file, 'auth: none\n');
  }
  return ['--config', file];
}

function installExtension(vsixOrId, profile) {
  return cli(['--force', '--install-extension', vsixOrId], profile);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/**
 * Starts code-server in a process group of its own, its output into `logFile`; resolves once
 * /healthz answers. The returned stop() kills the whole group (server, extension hosts, pty hosts).
 */
async function start({ userDataDir, extensionsDir, folder, port, logFile, env = {}, args: extraArgs = [], timeoutMs = 60_000 }) {
  port ??= await freePort();
  const out = fs.openSync(logFile, 'a');
  const args = [
    ENTRY,
    ...configArgs(userDataDir),
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    ...extraArgs,
    ...(folder ? [folder] : []),
  ];
  const proc = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: childEnv(env) });
  fs.closeSync(out);
  let exited = null;
  proc.on('exit', (code, signal) => (exited = { code, signal }));

  const stop = () => stopGroup(proc);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw Object.assign(new Error(`code-server exited during start-up (${JSON.stringify(exited)})`), { stop });
    if ((await get(`${url}healthz`)) === 200) break;
    if (Date.now() > deadline) {
      stop();
      throw Object.assign(new Error(`code-server did not answer on ${url} within ${timeoutMs / 1000} s`), { stop });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { proc, port, url, stop, exited: () => exited };
}

/** SIGTERM to the process group, then SIGKILL shortly after if anything is left. Synchronous-safe. */
function stopGroup(proc) {
  if (!proc?.pid) return;
  const kill = (sig) => {
    try {
      process.kill(-proc.pid, sig);
      return true;
    } catch {
      return false; // already gone
    }
  };
  if (!kill('SIGTERM')) return;
  // Give it a moment, then make sure (busy-wait: this also runs from process 'exit' handlers).
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    try {
      process.kill(-proc.pid, 0);
    } catch {
      return;
    }
    spawnSync('sleep', ['0.1']);
  }
  kill('SIGKILL');
}

module.exports = { ROOT, CODE_SERVER_DIR, ENTRY, ensureInstalled, childEnv, cli, installExtension, freePort, start, stopGroup };
