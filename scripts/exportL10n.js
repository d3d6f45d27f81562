#!/usr/bin/env node
// Writes l10n/bundle.l10n.json: every string literal passed to vscode.l10n.t (or an alias `t` of it)
// under src/, the file a translator copies to bundle.l10n.<locale>.json. Usage: node scripts/exportL10n.js [--check]
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'l10n', 'bundle.l10n.json');

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : /\.ts$/.test(e.name) ? [p] : [];
  });
}

/** Every string literal passed to vscode.l10n.t (or an alias of it) under src/, sorted: the English bundle. */
function extract() {
const strings = new Map();
for (const file of files(path.join(root, 'src'))) {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('l10n.t')) continue;
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  // `const t = vscode.l10n.t;` makes `t(...)` a call of it too.
  const aliases = new Set();
  const visit = (node) => {
    if (ts.isVariableDeclaration(node) && node.initializer && /(^|\.)l10n\.t$/.test(node.initializer.getText(src)) && ts.isIdentifier(node.name)) aliases.add(node.name.text);
    if (ts.isCallExpression(node)) {
      const callee = node.expression.getText(src);
      const isT = /(^|\.)l10n\.t$/.test(callee) || aliases.has(callee);
      const arg = node.arguments[0];
      if (isT && arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) strings.set(arg.text, arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
}
return Object.fromEntries([...strings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
module.exports = { extract };

if (require.main === module) {
const sorted = extract();
const strings = Object.keys(sorted);
const json = `${JSON.stringify(sorted, null, 2)}\n`;
if (process.argv.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== json) {
    console.error(`${path.relative(root, out)} is out of date: run node scripts/exportL10n.js`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(out, json);
  console.log(`${path.relative(root, out)}: ${strings.length} strings`);
}
}
