// README.md's settings table is the one scripts/settingsTable.js generates from package.json today,
// and the pictures it shows exist.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Compiled to out/test/unit/: the repository is three folders up.
const ROOT = path.resolve(__dirname, '../../..');

interface SettingsTable {
  render(pkg: unknown, nls: Record<string, string>): string;
  expectedReadme(): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script of the repository
const table = require(path.join(ROOT, 'scripts', 'settingsTable.js')) as SettingsTable;

describe('README', () => {
  const readme = () => fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('has the settings table of package.json (node scripts/settingsTable.js writes it)', () => {
    assert.ok(readme() === table.expectedReadme(), 'README.md: the settings table is out of date: run `node scripts/settingsTable.js`');
  });

  it('lists every setting of package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, unknown> }[] } };
    const keys = pkg.contributes.configuration.flatMap((s) => Object.keys(s.properties));
    const text = readme();
    const missing = keys.filter((k) => !text.includes(`| \`${k}\` |`));
    assert.deepEqual(missing, []);
  });

  it('shows only pictures that exist in the repository', () => {
    const images = [...readme().matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((src) => !/^https?:/.test(src));
    const missing = images.filter((src) => !fs.existsSync(path.join(ROOT, src)));
    assert.deepEqual(missing, []);
  });
});
