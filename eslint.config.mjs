// Lint rules; the one that matters most keeps `vscode` out of the core, the worker and the protocol,
// and onnxruntime-web inside src/core/runtime/.
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'src/core, src/worker, src/protocol and src/webview never import vscode (see DESIGN.md).' };
const noOrt = { name: 'onnxruntime-web', message: 'Only src/core/runtime/ imports onnxruntime-web.' };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', 'models/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
  {
    // Everything outside the host (core, worker, protocol, webviews, CLI, bench) stays free of vscode.
    files: ['src/**/*.ts'],
    ignores: ['src/extension.ts', 'src/host/**', 'src/core/runtime/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode, noOrt] }] },
  },
  {
    files: ['src/core/runtime/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode] }] },
  },
  {
    files: ['src/extension.ts', 'src/host/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noOrt] }],
      // Notification text renders [label](command:...) as a link that runs the command: every notification goes
      // through host/log.ts (showError, showWarning, showInfo), which breaks links in text from outside.
      'no-restricted-syntax': ['error', { selector: 'MemberExpression[property.name=/^show(Error|Warning|Information)Message$/]', message: 'Use showError/showWarning/showInfo from src/host/log.ts.' }],
    },
  },
  {
    files: ['src/host/log.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
