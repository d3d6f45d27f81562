// Typed errors for model folders and ONNX files: each says what is wrong and where, so a person can fix it.
import { LensError } from '../common/errors';
import { quoteName } from './untrusted';

/** The model folder does not exist or is not a folder. */
export class ModelNotFoundError extends LensError {
  constructor(readonly folder: string) {
    super('modelNotFound', `The model folder ${folder} does not exist or is not a folder.`);
  }
}

/** A file the layout requires is absent. */
export class ModelFileMissingError extends LensError {
  constructor(
    readonly folder: string,
    readonly file: string,
    detail?: string,
  ) {
    super('modelFileMissing', `The model folder ${folder} has no ${file}${detail ? ` (${detail})` : ''}. A model folder needs config.json, tokenizer.json and onnx/model.onnx (the transformers.js layout).`);
  }
}

/** config.json is unreadable, not JSON, or lacks a field the GPT-2 family needs. */
export class ModelConfigError extends LensError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super('modelConfig', `${file} cannot be used: ${detail}`);
  }
}

/** The model is not of the GPT-2 family, or its graph uses a structure the lens cannot read. */
export class UnsupportedModelError extends LensError {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super('unsupportedModel', `${where}: ${detail}`);
  }
}

/** The tokenizer knows more tokens than the model has embeddings for. */
export class VocabMismatchError extends LensError {
  constructor(
    readonly folder: string,
    readonly tokenizerSize: number,
    readonly modelSize: number,
  ) {
    super(
      'vocabMismatch',
      `The tokenizer in ${folder} has ${tokenizerSize} tokens but the model has ${modelSize} token embeddings: they do not belong together.`,
    );
  }
}

/** A model file is larger than the configured limit. */
export class ModelTooLargeError extends LensError {
  constructor(
    readonly file: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super('modelTooLarge', `${file} is ${mb(bytes)}, more than the limit of ${mb(limitBytes)}. Raise the model size limit in the settings to load it.`);
  }
}

/** The facts ModelMemoryError words its message from (src/core/model/memory.ts). */
export interface MemoryRefusal {
  /** The ONNX file, relative to the folder. */
  file: string;
  folder: string;
  /** Loading the model, or the completion engine's second session beside it. */
  purpose: 'load' | 'completions';
  /** 'runtime': onnxruntime-web's WebAssembly heap; 'machine': this machine's memory. */
  over: 'runtime' | 'machine';
  neededBytes: number;
  limitBytes: number;
  /** The parts of the estimate (memory.ts MemoryEstimate) the message names. */
  estimate: { tokens: number; fileBytes: number; float16Bytes?: number; graphBytes?: number; sessionBytes: number; runBytes: number; hostBytes: number };
  /** What would fit instead, as phrases ("the native runtime (...)"). */
  alternatives: string[];
}

/**
 * The model would need more memory than the runtime or the machine has: refused before it is read, with the figure
 * and what would work, instead of onnxruntime failing with "std::bad_alloc" after a minute of reading.
 */
export class ModelMemoryError extends LensError {
  readonly neededBytes: number;
  readonly limitBytes: number;

  constructor(readonly refusal: MemoryRefusal) {
    const r = refusal;
    const e = r.estimate;
    const where = r.over === 'runtime' ? `of the ${formatMemory(r.limitBytes)} of WebAssembly memory onnxruntime-web can use` : `of memory, and this machine has ${formatMemory(r.limitBytes)}`;
    const what =
      r.purpose === 'load'
        ? `to load and analyse ${e.tokens} tokens`
        : 'for completions, which run a second session of the model beside the analysis one';
    // A float16 file is read as float32: "the model's" size is then that of the float32 graph, said so.
    const model =
      e.float16Bytes && e.graphBytes
        ? `${formatMemory(e.graphBytes)} (its ${formatMemory(e.fileBytes)} file read as float32: its 16-bit floats take twice their bytes)`
        : formatMemory(e.fileBytes);
    const parts =
      r.over === 'runtime'
        ? r.purpose === 'load'
          ? ` (${formatMemory(e.sessionBytes)} while the session is created, about three times the model's ${model}; ${formatMemory(e.runBytes)} for the run)`
          : ` (about four times the model's ${model})`
        : ` (${formatMemory(e.hostBytes)} outside the runtime for the graph as read, its instrumented copy and the float embedding; ${formatMemory(r.neededBytes - e.hostBytes)} in the runtime)`;
    const instead = r.alternatives.length ? ` What would work: ${r.alternatives.join('; or ')}.` : ' Choose a smaller model.';
    super('modelMemory', `${r.file} in ${r.folder} needs about ${formatMemory(r.neededBytes)} ${where} ${what}${parts}, so LLM Lens did not ${r.purpose === 'load' ? 'load it' : 'start completions with it'}.${instead}`);
    this.neededBytes = r.neededBytes;
    this.limitBytes = r.limitBytes;
  }
}

/** Bytes in GB or MB (1024-based, as the hub code's sizes and ModelTooLargeError write them); GB with one decimal. */
export function formatMemory(bytes: number): string {
  const gb = bytes / 1024 ** 3;
  return gb >= 1 ? `${gb.toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 1024 ** 2))} MB`;
}

/** ONNX external data that points outside the model folder or through a symbolic link. */
export class UnsafeExternalDataError extends LensError {
  constructor(
    readonly file: string,
    readonly location: string,
    detail: string,
  ) {
    // The location is the file's own text: quoted short and escaped.
    super('unsafeExternalData', `${file} refers to external data ${quoteName(location)} that ${detail}; only plain files inside the model folder are read.`);
  }
}

/**
 * config.json, tokenizer.json or the ONNX file is a symbolic link that leads out of the model folder. Refused
 * before it is read: a folder from elsewhere (a download, a repository) must not make the lens read, and quote
 * back in an error, a file it points at such as ~/.ssh/id_rsa. The target is not named for the same reason.
 */
export class UnsafeModelFileError extends LensError {
  constructor(
    readonly folder: string,
    readonly file: string,
  ) {
    super('unsafeModelFile', `${file} in the model folder ${folder} is a symbolic link to a file outside the model folder; only files inside the model folder are read. Copy the file into the folder instead of linking to it.`);
  }
}

/** The ONNX file is empty, truncated or not an ONNX model at all. */
export class ModelFormatError extends LensError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super('modelFormat', `${file} is not a usable ONNX model: ${detail}`);
  }
}

/**
 * A tensor whose stored data does not match its declared type and dims (a damaged, truncated or hand-made file):
 * refused by name at load, instead of failing later inside a typed-array allocation or onnxruntime.
 */
export class TensorDataError extends ModelFormatError {
  constructor(
    file: string,
    readonly tensor: string,
    detail: string,
  ) {
    super(file, `tensor ${quoteName(tensor)} ${detail}`);
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
