#!/usr/bin/env node
// Integration tier: installs the packaged VSIX into a fresh code-server profile, opens the workbench
// in Chromium (the extension host starts only when a browser connects), lets the test-only runner
// extension run the mocha suite inside the extension host, then runs the UI steps of
// test/integration/ui/ (command palette, webview text, screenshots) in each theme.
// Builds nothing: scripts/test.sh has already run `npm run build` and `npm run package`.
//
// Environment: LLM_LENS_THEMES=dark,light   themes the UI steps run in (default all four: dark, light,
//                                           dark-hc, light-hc; a step runs in dark and light unless its
//                                           `themes` says otherwise)
//              LLM_LENS_UI=runtime,completions  only UI steps whose file name contains one of these
//              LLM_LENS_GREP=pattern        only suite tests whose full title matches
//              LLM_LENS_VSIX=dist-vsix/x    install that VSIX (default dist-vsix/llm-lens.vsix)
//              LLM_LENS_RUN=native          a further run's name: results-native.json, screenshots *-native
//              LLM_LENS_EXPECT_BACKEND=native  what the runtime panel step expects (default web)
//              LLM_LENS_KEEP=1              keep the temporary profile (its path is printed)
//              LLM_LENS_PORT=8123           serve on this port instead of a free one
//              LLM_LENS_LOCALE=pt-br        VS Code's display language (code-server --locale); only UI steps
//                                           whose `locales` name it and (unless LLM_LENS_GREP) the suite's
//                                           'display language' tests run; results-pt-br.json, logs-pt-br/ and
//                                           the screenshots sit beside the English run's (nothing is cleared)
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const codeServer = require('./lib/codeServer');
const { Workbench } = require('./lib/workbench');

const ROOT = codeServer.ROOT;
// LLM_LENS_VSIX: another package to install, e.g. the linux-x64 one that carries onnxruntime-node.
const VSIX = path.join(ROOT, process.env.LLM_LENS_VSIX || path.join('dist-vsix', 'llm-lens.vsix'));
// LLM_LENS_RUN=native names a further run: its results and screenshots get that suffix, and nothing is cleared.
const RUN = process.env.LLM_LENS_RUN || '';
const SUITE = path.join(ROOT, 'out', 'test', 'integration', 'suite', 'index.js');
const RUNNER_EXT = path.join(__dirname, 'runner-extension');
const UI_DIR = path.join(__dirname, 'ui');
const SAMPLES = path.join(ROOT, 'samples');
const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SUITE_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 90_000;
// The display language of the run; UI steps run in 'en' unless they list other `locales`.
const LOCALE = process.env.LLM_LENS_LOCALE || 'en';
const RUN_SUFFIX = `${LOCALE === 'en' ? '' : `-${LOCALE}`}${RUN ? `-${RUN}` : ''}`;

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
// Quiet once interrupted: main() may still be unwinding while the signal handler cleans up.
const log = (s) => void (state.interrupted || console.log(s));
const step = (s) => log(`[integration ${elapsed()}] ${s}`);

// Everything that must die with us, however we leave: see cleanup().
const state = { server: undefined, browser: undefined, tmp: undefined, cleaning: undefined, interrupted: false };

/** Closes Chromium, kills code-server, removes the profile; every caller awaits the same run. */
function cleanup() {
  state.cleaning ??= (async () => {
    if (state.browser) await state.browser.close().catch(() => {});
    if (state.server) state.server.stop();
    if (state.tmp && !process.env.LLM_LENS_KEEP) {
      try {
        fs.rmSync(state.tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch (e) {
        console.error(`[integration] could not remove ${state.tmp}: ${e.message}`);
      }
    }
  })();
  return state.cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (state.interrupted) return;
    state.interrupted = true;
    console.error(`\n[integration] ${sig}: stopping code-server and Chromium`);
    cleanup().finally(() => process.exit(130));
  });
}
// Last resort (e.g. an uncaught exception): kill the server's process group synchronously.
process.on('exit', () => state.server?.stop());

function fail(message) {
  throw Object.assign(new Error(message), { expected: true });
}

function writeUserSettings(userDataDir) {
  const file = path.join(userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // A quiet, reproducible workbench: no welcome page, tips, surveys, recommendations or chat.
  const settings = {
    'workbench.colorTheme': 'Default Dark Modern',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.commandCenter.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'git.enabled': false,
    'editor.minimap.enabled': false,
    'files.hotExit': 'off',
    'window.zoomLevel': 0,
  };
  fs.writeFileSync(file, JSON.stringify(settings, null, 2));
  return file;
}

/** Files under `dir` whose path matches `re`, recursively. */
function findFiles(dir, re) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => re.test(f) && fs.statSync(f).isFile());
}

function tail(text, lines = 60) {
  return text.split('\n').slice(-lines).join('\n');
}

/** Copies the server's, extension hosts' and LLM Lens's logs to test-results/logs; prints them when asked. */
function collectLogs(userDataDir, serverLog, print) {
  const dest = path.join(RESULTS, `logs${RUN_SUFFIX}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const logs = [serverLog, ...findFiles(path.join(userDataDir, 'logs'), /(exthost\d*[\\/].*\.log|remoteagent\.log|LLM Lens\.log)$/)];
  for (const f of logs) {
    if (!fs.existsSync(f)) continue;
    const name = path.relative(userDataDir, f).replace(/[\\/]/g, '__');
    fs.copyFileSync(f, path.join(dest, name.startsWith('..') ? path.basename(f) : name));
    if (print && /(code-server|remoteagent|remoteexthost|LLM Lens)\.log$/.test(f)) {
      // Without the extension host's list of every extension path (its warning about the suite's
      // require('vscode') from outside an extension folder is expected and harmless).
      const text = fs.readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s+file:\/\/\//.test(l)).join('\n').trim();
      if (text) console.error(`\n----- ${path.basename(f)} (last lines) -----\n${tail(text)}`);
    }
  }
  return dest;
}

async function packRunnerExtension(outFile) {
  const { createVSIX } = require('@vscode/vsce/out/api');
  const quiet = console.log;
  console.log = () => {}; // vsce prints its file tree
  try {
    await createVSIX({ cwd: RUNNER_EXT, packagePath: outFile, dependencies: false, allowMissingRepository: true, skipLicense: true });
  } finally {
    console.log = quiet;
  }
}

async function waitForResults(file, server, page, pageErrors) {
  const deadline = Date.now() + SUITE_TIMEOUT_MS;
  while (!fs.existsSync(file)) {
    if (server.exited()) fail(`code-server exited while the suite ran (${JSON.stringify(server.exited())})`);
    if (page.isClosed()) fail('the workbench page closed while the suite ran');
    if (Date.now() > deadline) {
      const started = fs.existsSync(`${file}.started`);
      fail(
        started
          ? `the suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s`
          : `the runner extension never started the suite (no extension host?)${pageErrors.length ? `; page errors:\n${pageErrors.join('\n')}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function printSuite(results) {
  log('');
  for (const line of results.lines ?? []) log(`  ${line}`);
  const s = results.stats ?? {};
  log('');
  log(`  ${s.passes ?? 0} passing (${((s.duration ?? 0) / 1000).toFixed(1)} s)`);
  if (s.pending) log(`  ${s.pending} pending`);
  if (s.failures) log(`  ${s.failures} failing`);
  (results.failures ?? []).forEach((f, i) => log(`\n  ${i + 1}) ${f.title}\n     ${String(f.error).replace(/\n/g, '\n     ')}`));
  if (!results.ok && !results.failures?.length && results.error) log(`\n  the suite did not run: ${results.error}`);
  log('');
}

/** UI steps: every test/integration/ui/*.js, in name order, each exporting { title, run(ui) }. */
function loadUiSteps() {
  const filters = process.env.LLM_LENS_UI ? process.env.LLM_LENS_UI.split(',') : undefined;
  return fs
    .readdirSync(UI_DIR)
    .filter((f) => f.endsWith('.js') && (!filters || filters.some((x) => f.includes(x))))
    .sort()
    .map((f) => {
      const mod = require(path.join(UI_DIR, f));
      if (typeof mod.run !== 'function') fail(`test/integration/ui/${f} exports no run(ui)`);
      return { file: f, name: f.replace(/\.js$/, ''), title: mod.title ?? f, run: mod.run, themes: mod.themes, locales: mod.locales ?? ['en'] };
    })
    .filter((s) => s.locales.includes(LOCALE));
}

const DEFAULT_STEP_THEMES = ['dark', 'light'];

async function runUiSteps(ui) {
  const themes = (process.env.LLM_LENS_THEMES ?? 'dark,light,dark-hc,light-hc').split(',').map((t) => t.trim()).filter(Boolean);
  const steps = loadUiSteps();
  const failures = [];
  let passes = 0;
  log('  UI steps (Chromium)');
  for (const theme of themes) {
    // High-contrast themes only for the steps that ask for them (the panels): the rest would double the time.
    if (!steps.some((s) => (s.themes ?? DEFAULT_STEP_THEMES).includes(theme))) continue;
    await ui.setTheme(theme);
    log(`    ${theme} theme`);
    for (const s of steps) {
      if (!(s.themes ?? DEFAULT_STEP_THEMES).includes(theme)) continue;
      const started = Date.now();
      try {
        await ui.dismissQuickInput().catch(() => {});
        await ui.closeAllEditors();
        await Promise.race([
          s.run(ui),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS).unref()),
        ]);
        passes++;
        log(`      ✔ ${s.title} (${Date.now() - started} ms)`);
      } catch (e) {
        failures.push({ title: `${s.file} [${theme}]: ${s.title}`, error: e?.stack ?? String(e) });
        log(`      ✘ ${failures.length}) ${s.title}`);
        await ui.page.screenshot({ path: path.join(RESULTS, `FAILED-${s.name}-${theme}.png`) }).catch(() => {});
      }
    }
  }
  log('');
  log(`  ${passes} UI step run(s) passing`);
  failures.forEach((f, i) => log(`\n  ${i + 1}) ${f.title}\n     ${f.error.replace(/\n/g, '\n     ')}`));
  return failures.length;
}

async function main() {
  // 1. What test.sh built.
  for (const [file, how] of [
    [VSIX, process.env.LLM_LENS_VSIX ? 'npm run package -- --target <platform>' : 'npm run package'],
    [SUITE, 'npm run build'],
  ]) {
    if (!fs.existsSync(file)) fail(`${path.relative(ROOT, file)} is missing: run \`${how}\` first (or \`npm test\`)`);
  }
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
  codeServer.ensureInstalled();
  fs.mkdirSync(RESULTS, { recursive: true });
  if (LOCALE === 'en' && !RUN) for (const f of fs.readdirSync(RESULTS)) if (f.endsWith('.png') || f === 'results.json') fs.rmSync(path.join(RESULTS, f));

  // 2. A fresh profile with the VSIX and the test runner installed, as a user would have them.
  state.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-lens-it-'));
  const profile = { userDataDir: path.join(state.tmp, 'user-data'), extensionsDir: path.join(state.tmp, 'extensions') };
  const settingsFile = writeUserSettings(profile.userDataDir);
  const runnerVsix = path.join(state.tmp, 'test-runner.vsix');
  await packRunnerExtension(runnerVsix);
  step(`installing ${path.relative(ROOT, VSIX)} (${(fs.statSync(VSIX).size / 1048576).toFixed(1)} MiB) and the test runner into ${state.tmp}`);
  codeServer.installExtension(VSIX, profile);
  codeServer.installExtension(runnerVsix, profile);
  // --locale needs a language pack of that locale (lib/languagePack.js).
  if (LOCALE !== 'en') require('./lib/languagePack').writeLanguagePack(LOCALE, profile.userDataDir);
  const installed = fs.readdirSync(profile.extensionsDir).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
  if (!installed.some((d) => d.startsWith('llm-lens.llm-lens-'))) fail(`the VSIX did not install; extensions dir holds: ${installed.join(', ')}`);

  // 3. code-server.
  const serverLog = path.join(state.tmp, 'code-server.log');
  const resultsFile = path.join(state.tmp, 'results.json');
  step('starting code-server');
  try {
    state.server = await codeServer.start({
      ...profile,
      folder: SAMPLES,
      logFile: serverLog,
      port: process.env.LLM_LENS_PORT ? Number(process.env.LLM_LENS_PORT) : undefined,
      args: LOCALE === 'en' ? [] : ['--locale', LOCALE],
      env: {
        LLM_LENS_TEST_SUITE: SUITE,
        LLM_LENS_TEST_RESULTS: resultsFile,
        LLM_LENS_EXPECT_EXTENSIONS_DIR: profile.extensionsDir,
        LLM_LENS_TEST_LOCALE: LOCALE,
        ...(process.env.LLM_LENS_EXPECT_BACKEND ? { LLM_LENS_EXPECT_BACKEND: process.env.LLM_LENS_EXPECT_BACKEND } : {}),
        ...(process.env.LLM_LENS_GREP ? { LLM_LENS_TEST_GREP: process.env.LLM_LENS_GREP } : {}),
        // Another language: by default only the suite's tests of the display language (the rest expect English).
        ...(!process.env.LLM_LENS_GREP && LOCALE !== 'en' ? { LLM_LENS_TEST_GREP: 'display language' } : {}),
      },
    });
  } catch (e) {
    e.stop?.();
    console.error(`\n----- code-server log (${serverLog}) -----\n${fs.existsSync(serverLog) ? tail(fs.readFileSync(serverLog, 'utf8'), 200) : '(empty)'}`);
    throw e;
  }
  step(`code-server is up at ${state.server.url}`);

  // 4. Chromium opens the workbench; that starts the extension host, and the runner runs the suite.
  const { chromium } = require('playwright-core');
  state.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Our signal handlers close it (and code-server) in order; playwright's own would race them.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await state.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e?.stack ?? e)));
  page.on('crash', () => pageErrors.push('the page crashed'));
  await page.goto(`${state.server.url}?folder=${encodeURIComponent(SAMPLES)}`, { waitUntil: 'domcontentloaded' });
  const ui = new Workbench(page, { resultsDir: RESULTS, settingsFile, workspace: SAMPLES, log, suffix: RUN ? `-${RUN}` : '' });
  await ui.ready();
  step('workbench loaded; waiting for the suite in the extension host');

  let failures = 0;
  let results;
  try {
    results = await waitForResults(resultsFile, state.server, page, pageErrors);
  } catch (e) {
    results = { ok: false, error: e.message };
  }
  fs.writeFileSync(path.join(RESULTS, `results${RUN_SUFFIX}.json`), JSON.stringify(results, null, 2));
  step(`suite finished in VS Code ${results.vscodeVersion ?? '?'} (extension host on Node ${results.nodeVersion ?? '?'})`);
  printSuite(results);
  if (!results.ok || (results.stats?.failures ?? 0) > 0 || (results.stats?.passes ?? 0) === 0) failures++;

  // 5. UI steps, as a person would do them, with screenshots.
  step('UI steps');
  failures += await runUiSteps(ui);
  if (pageErrors.length) log(`\n  (the page reported ${pageErrors.length} error(s); first: ${pageErrors[0].split('\n')[0]})`);

  const logs = collectLogs(profile.userDataDir, serverLog, failures > 0);
  const shots = ui.screenshots.map((f) => path.relative(ROOT, f));
  step(`screenshots: ${shots.join(', ') || 'none'}; logs: ${path.relative(ROOT, logs)}`);
  return failures;
}

main()
  .then(async (failures) => {
    if (state.interrupted) return;
    await cleanup();
    step(failures ? `FAILED (${failures} failing part(s))` : 'passed');
    process.exit(failures ? 1 : 0);
  })
  .catch(async (e) => {
    if (state.interrupted) return; // the signal handler is cleaning up and exits with 130
    console.error(`\n[integration] ${e.expected ? e.message : e.stack ?? e}`);
    if (state.tmp && state.server) {
      try {
        collectLogs(path.join(state.tmp, 'user-data'), path.join(state.tmp, 'code-server.log'), true);
      } catch {
        // best effort
      }
    }
    await cleanup();
    process.exit(1);
  });
