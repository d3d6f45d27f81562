// The host's string tables (src/host/panelStrings.ts) import 'vscode', which exists only inside VS Code. The bench's
// panels section and the dev preview alias it, when they bundle, to src/tools/preview/vscodeStub.ts (English, every
// setting at its default); a unit test's bundle keeps 'vscode' external. Imported first, this answers that bundle's
// own require('vscode') with the same stub: only the test file that imports it sees it, and Node's loader is left alone.
import * as stub from '../../../src/tools/preview/vscodeStub';

// Unit tests are bundled (esbuild.js): __filename is the test's bundle, whose module is in the cache while it loads,
// and its `require` asks that module's own `require` on each call.
const self = require.cache[__filename];
if (!self) throw new Error(`vscodeModule: ${__filename} is not a CommonJS module in require.cache`);
const original = self.require;
self.require = Object.assign((id: string): unknown => (id === 'vscode' ? stub : original.call(self, id)), original) as NodeJS.Require;
