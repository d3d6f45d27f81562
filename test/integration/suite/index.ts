// Entry of the integration suite, loaded inside a real VS Code extension host: by the test-only
// runner extension under code-server (runServer.js) or by @vscode/test-electron (runDesktop.js).
// setup must come first (it installs describe/it); then one import per *.test.ts in this folder.
import { runRegistered, type TestReport } from './setup';
import './extension.test';
import './runtimePanel.test';
import './editorSurfaces.test';
import './analysisPanel.test';
import './modelChoice.test';
import './llamaModel.test';
import './completions.test';
import './walkthrough.test';
import './why.test';
import './suiteFiles.test';

export function run(): Promise<TestReport> {
  return runRegistered();
}
