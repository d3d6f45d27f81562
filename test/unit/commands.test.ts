// The command table (src/host/commands.ts) and package.json's contributed commands name the same ids.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { COMMANDS, INTERNAL_COMMANDS } from '../../src/host/commands';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const manifest = require(path.join(__dirname, '..', '..', '..', 'package.json')) as { contributes: { commands: { command: string }[] } };

describe('command table', () => {
  it('lists exactly the commands package.json contributes', () => {
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(Object.values(COMMANDS).sort(), contributed);
  });

  it('keeps internal commands out of the Command Palette list', () => {
    const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
    for (const id of Object.values(INTERNAL_COMMANDS)) assert.ok(!contributed.has(id), id);
  });
});
