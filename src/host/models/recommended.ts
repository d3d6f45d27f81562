// The short list "Select Model" shows first: the built-in model and three hub models chosen for what each is good for,
// with the download size and the memory it needs (core/model/memory.ts's estimate, the figure a refused load gives).
import * as vscode from 'vscode';
import { formatBytes } from '../../core/hub/errors';
import { estimateFolderMemory, estimateMemory, type MemoryEstimate, type MemoryInput } from '../../core/model/memory';

/** A recommended hub model: what Select Model downloads when it is picked (the existing download flow, preset). */
export interface RecommendedDownload {
  repo: string;
  /** The ONNX variant under onnx/ (hub/repo.ts names). */
  variant: string;
  /** The variant's bytes as the hub lists them, shown before anything is fetched. */
  downloadBytes: number;
  /** config.json's sizes, for the memory estimate. */
  shape: Omit<MemoryInput, 'fileBytes'>;
  /** Its completions are what it is for: the memory shown includes the completion engine's session. */
  forCompletions: boolean;
  /** What it is good for, in a few words, in the display language. */
  goodFor(): string;
  /** What it is, in a line. */
  about(): string;
}

/**
 * The curated list, in the order shown. Sizes are the hub's (decimal megabytes, as its pages show them); gpt2's is its
 * 124 M parameters in float32 with the LM head stored again transposed, as the transformers.js export writes it.
 */
export const RECOMMENDED: readonly RecommendedDownload[] = [
  {
    repo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    variant: 'model',
    downloadBytes: 654e6,
    shape: { vocabSize: 49152, dModel: 576, nLayer: 30, nHead: 9 },
    forCompletions: false,
    goodFor: () => vscode.l10n.t('for looking inside'),
    about: () => vscode.l10n.t('a model of today, Llama-shaped (rotary positions, grouped key/value heads, gated MLP), in full precision'),
  },
  {
    repo: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct',
    variant: 'model_q4',
    downloadBytes: 862e6,
    shape: { vocabSize: 151936, dModel: 896, nLayer: 24, nHead: 14 },
    forCompletions: true,
    goodFor: () => vscode.l10n.t('for completions'),
    about: () => vscode.l10n.t('a code model that fills in the middle, in 4-bit weights: smaller and faster'),
  },
  {
    repo: 'Xenova/gpt2',
    variant: 'model',
    downloadBytes: 653e6,
    shape: { vocabSize: 50257, dModel: 768, nLayer: 12, nHead: 12 },
    forCompletions: false,
    goodFor: () => vscode.l10n.t('the classic'),
    about: () => vscode.l10n.t('GPT-2 (2019), the model most explanations of transformers draw'),
  },
];

/** The memory a recommended model needs: to analyse, or with completions for the one that is for completions. */
export function recommendedMemory(r: RecommendedDownload): number {
  const e = estimateMemory({ fileBytes: r.downloadBytes, ...r.shape });
  return r.forCompletions ? e.totalWithCompletionsBytes : e.totalBytes;
}

/** "654 MB download · about 3.2 GB of memory". */
export function sizeAndMemory(downloadBytes: number | undefined, memoryBytes: number): string {
  const memory = vscode.l10n.t('about {0} of memory', formatBytes(memoryBytes));
  return downloadBytes === undefined ? memory : `${vscode.l10n.t('{0} download', formatBytes(downloadBytes))} · ${memory}`;
}

let builtinMemory: { folder: string; estimate: MemoryEstimate } | undefined;

/** The built-in model's estimate, from its folder (read once: the picker opens often, the folder never changes). */
export function builtinEstimate(folder: string): MemoryEstimate | undefined {
  if (builtinMemory?.folder !== folder) {
    try {
      builtinMemory = { folder, estimate: estimateFolderMemory(folder).estimate };
    } catch {
      return undefined;
    }
  }
  return builtinMemory.estimate;
}
