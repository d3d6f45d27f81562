// Temporary model folders in the transformers.js layout, built from a synthetic graph or from parts of lens-tiny.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '../../..');
export const lensTiny = path.join(root, 'models/lens-tiny');

export interface FolderParts {
  config?: Record<string, unknown> | string;
  /** The model bytes for onnx/model.onnx; omitted: no ONNX file. */
  onnx?: Uint8Array;
  /** Copy lens-tiny's tokenizer.json (default true). */
  tokenizer?: boolean;
}

const made: string[] = [];

export function makeModelFolder(parts: FolderParts, name = 'lens-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name));
  made.push(dir);
  if (parts.config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), typeof parts.config === 'string' ? parts.config : JSON.stringify(parts.config, null, 2));
  if (parts.tokenizer !== false) fs.copyFileSync(path.join(lensTiny, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  if (parts.onnx) {
    fs.mkdirSync(path.join(dir, 'onnx'));
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), parts.onnx);
  }
  return dir;
}

export function lensTinyConfig(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(lensTiny, 'config.json'), 'utf8'));
}

export function lensTinyOnnx(): Buffer {
  return fs.readFileSync(path.join(lensTiny, 'onnx', 'model.onnx'));
}

export function removeModelFolders(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
