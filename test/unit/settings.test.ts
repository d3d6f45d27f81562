// Settings are read through package.json's schema (protocol/settings.ts): defaults stated once, every integer
// clamped to its range, a value of the wrong type replaced by the default.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { intSetting, settingDefault } from '../../src/protocol/settings';
import { DEFAULT_MAX_TOKENS, DEFAULT_NEIGHBOURS, DEFAULT_TOP_K } from '../../src/core/analysis/options';
import { COMPLETION_DEFAULTS } from '../../src/core/completion/engine';

describe('settings from package.json', () => {
  it('clamps integers to the schema range and falls back to the default for non-numbers', () => {
    assert.equal(intSetting('llmLens.runtime.threads', 64), 16);
    assert.equal(intSetting('llmLens.runtime.threads', -3), 0);
    assert.equal(intSetting('llmLens.analysis.maxTokens', 'x'), 1024);
    assert.equal(intSetting('llmLens.analysis.maxTokens', Number.NaN), 1024);
    assert.equal(intSetting('llmLens.analysis.maxTokens', 200.7), 200);
    assert.equal(intSetting('llmLens.completions.timeBudget', 1e9), 10000);
  });

  it('gives the core the same defaults the Settings editor shows', () => {
    assert.equal(DEFAULT_MAX_TOKENS, settingDefault('llmLens.analysis.maxTokens'));
    assert.equal(DEFAULT_TOP_K, settingDefault('llmLens.analysis.topK'));
    assert.equal(DEFAULT_NEIGHBOURS, settingDefault('llmLens.analysis.neighbours'));
    assert.equal(COMPLETION_DEFAULTS.prefixTokens, settingDefault('llmLens.completions.prefixTokens'));
    assert.equal(COMPLETION_DEFAULTS.maxTokens, settingDefault('llmLens.completions.maxTokens'));
  });

  it('keeps the model folder and the thread count out of an untrusted workspace\'s reach', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const manifest = require(path.join(__dirname, '..', '..', '..', 'package.json')) as { capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } } };
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['llmLens.model', 'llmLens.runtime.threads']) assert.ok(restricted.includes(key), key);
  });

  it('refuses a key that package.json does not declare', () => {
    assert.throws(() => settingDefault('llmLens.nope'), /no setting llmLens\.nope/);
  });
});
