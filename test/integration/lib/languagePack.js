// An empty language pack for the integration tests' display language (LLM_LENS_LOCALE). code-server's
// --locale alone leaves VS Code in English (vscode.env.language 'en'): the server only honours a
// locale for which its user data dir's languagepacks.json names a translation of VS Code, and the
// offline build machine cannot fetch Microsoft's language pack. This one translates nothing (VS
// Code's menus and commands stay English, which the UI steps rely on), but it makes the locale
// real: the workbench and the extension host run in it, so extensions get vscode.env.language =
// locale and load their package.nls.<locale>.json and l10n/bundle.l10n.<locale>.json.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script run by plain Node */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Writes <userDataDir>/languagepacks.json and an empty translation file for `locale`. */
function writeLanguagePack(locale, userDataDir) {
  const dir = path.join(userDataDir, 'test-language-pack');
  fs.mkdirSync(dir, { recursive: true });
  const translations = path.join(dir, 'main.i18n.json');
  fs.writeFileSync(translations, JSON.stringify({ version: '1.0.0', contents: {} }));
  const packs = {
    [locale]: {
      hash: `test-${locale}`,
      extensions: [{ extensionIdentifier: { id: `llm-lens-tests.language-pack-${locale}` }, version: '0.0.1' }],
      translations: { vscode: translations },
      label: locale,
    },
  };
  fs.writeFileSync(path.join(userDataDir, 'languagepacks.json'), JSON.stringify(packs, null, 2));
}

module.exports = { writeLanguagePack };
