// Every user-visible string has a Brazilian Portuguese translation, with its placeholders intact:
// the strings of vscode.l10n.t calls are extracted again from src/ and compared with the bundles.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Compiled to out/test/unit/: the repository is three folders up.
const ROOT = path.resolve(__dirname, '../../..');
const LOCALE = 'pt-br';

const readJson = (rel: string): Record<string, string> => JSON.parse(fs.readFileSync(path.join(ROOT, rel), 'utf8')) as Record<string, string>;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : /\.ts$/.test(e.name) ? [p] : [];
  });
}

/**
 * The English strings in the source: the project's extractor (it follows `const t = vscode.l10n.t`
 * aliases, which @vscode/l10n-dev does not) together with l10n-dev's own export.
 */
async function sourceStrings(): Promise<Set<string>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script of the repository
  const { extract } = require(path.join(ROOT, 'scripts', 'exportL10n.js')) as { extract(): Record<string, string> };
  const { getL10nJson } = await import('@vscode/l10n-dev');
  const files = tsFiles(path.join(ROOT, 'src')).map((f) => ({ extension: '.ts', contents: fs.readFileSync(f, 'utf8') }));
  const l10nDev = await getL10nJson(files);
  return new Set([...Object.keys(extract()), ...Object.keys(l10nDev)]);
}

/** `{0}`-style placeholders (sorted, with repeats collapsed): a translation must use the same ones. */
const placeholders = (s: string): string => [...new Set(s.match(/\{\d+\}/g) ?? [])].sort().join(' ');
/** `#llmLens.x#` setting links and `**LLM Lens: ...**` command names are not translated away. */
const settingLinks = (s: string): string => [...new Set(s.match(/#[\w.]+#/g) ?? [])].sort().join(' ');

function listed(keys: string[], max = 15): string {
  return keys.slice(0, max).map((k) => `\n    ${JSON.stringify(k)}`).join('') + (keys.length > max ? `\n    … and ${keys.length - max} more` : '');
}

describe('localization (pt-br)', function () {
  this.timeout(60_000);
  let source: Set<string>;
  let english: Record<string, string>;
  let portuguese: Record<string, string>;

  before(async () => {
    source = await sourceStrings();
    english = readJson('l10n/bundle.l10n.json');
    portuguese = readJson(`l10n/bundle.l10n.${LOCALE}.json`);
  });

  it('l10n/bundle.l10n.json holds exactly the strings of the source', () => {
    const missing = [...source].filter((s) => !(s in english));
    const stale = Object.keys(english).filter((s) => !source.has(s));
    assert.deepEqual(
      { missing, stale },
      { missing: [], stale: [] },
      `l10n/bundle.l10n.json is out of date: run \`node scripts/exportL10n.js\`.${missing.length ? `\n  not in it:${listed(missing)}` : ''}${stale.length ? `\n  no longer in src/:${listed(stale)}` : ''}`,
    );
  });

  it(`every string of the source has a ${LOCALE} translation, and none is left over`, () => {
    const missing = [...source].filter((s) => typeof portuguese[s] !== 'string' || portuguese[s].trim() === '');
    const stale = Object.keys(portuguese).filter((s) => !source.has(s));
    assert.deepEqual(
      { missing, stale },
      { missing: [], stale: [] },
      `l10n/bundle.l10n.${LOCALE}.json:${missing.length ? `\n  untranslated:${listed(missing)}` : ''}${stale.length ? `\n  translations of strings no longer in src/:${listed(stale)}` : ''}`,
    );
  });

  it(`${LOCALE} translations keep the placeholders of the English string`, () => {
    const wrong = Object.entries(portuguese)
      .filter(([en, pt]) => placeholders(en) !== placeholders(pt))
      .map(([en, pt]) => `${en}  ->  ${pt}  (${placeholders(en) || 'none'} vs ${placeholders(pt) || 'none'})`);
    assert.deepEqual(wrong, [], `placeholders differ:${listed(wrong)}`);
  });

  it(`package.nls.${LOCALE}.json translates every key of package.nls.json and keeps setting links`, () => {
    const en = readJson('package.nls.json');
    const pt = readJson(`package.nls.${LOCALE}.json`);
    const missing = Object.keys(en).filter((k) => typeof pt[k] !== 'string' || pt[k].trim() === '');
    const stale = Object.keys(pt).filter((k) => !(k in en));
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, `package.nls.${LOCALE}.json:${missing.length ? `\n  untranslated keys:${listed(missing)}` : ''}${stale.length ? `\n  keys no longer in package.nls.json:${listed(stale)}` : ''}`);
    const wrong = Object.keys(en).filter((k) => k in pt && (settingLinks(en[k]) !== settingLinks(pt[k]) || placeholders(en[k]) !== placeholders(pt[k])));
    assert.deepEqual(wrong, [], `these keys lost a #setting# link or a placeholder:${listed(wrong)}`);
  });

  it('every %key% of package.json is in package.nls.json', () => {
    const en = readJson('package.nls.json');
    const manifest = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    const keys = [...manifest.matchAll(/"%([^"%]+)%"/g)].map((m) => m[1]);
    const missing = [...new Set(keys)].filter((k) => !(k in en));
    assert.deepEqual(missing, [], `package.json names keys that package.nls.json lacks:${listed(missing)}`);
  });
});
