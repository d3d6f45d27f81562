// The final norm and the LM head read from the graph as arrays, for the logit lens of one vector in JS.
import type { GraphIndex, GraphStructure } from './graph';
import { floatData } from './proto';

/** The final norm and the LM head as arrays: enough to apply them to one vector. */
export interface LensHead {
  gamma: Float32Array;
  beta: Float32Array;
  epsilon: number;
  /** [V, d] (vocabMajor, e.g. the tied token embedding) or [d, V]. */
  weight: Float32Array;
  vocabMajor: boolean;
  bias?: Float32Array;
}

/**
 * The final norm's gamma, beta and epsilon and the LM head's weight, read from the graph at load; undefined when
 * one is not a constant the graph names (then the logit lens is left empty, as the instrumented graph leaves it).
 * A tied head reuses the token embedding already in memory.
 */
export function lensHeadOf(g: GraphIndex, s: GraphStructure, embedding: Float32Array): LensHead | undefined {
  const fn = s.finalNorm;
  const lm = s.lmHead;
  if (!fn || !lm || !fn.scale || !fn.bias) return undefined;
  const f = (name: string | undefined) => (name ? g.initializers.get(name) : undefined);
  const gamma = f(fn.scale) && floatData(f(fn.scale)!);
  const beta = f(fn.bias) && floatData(f(fn.bias)!);
  const tied = lm.tied === 'same' || lm.tied === 'copy';
  const weight = tied ? embedding : f(lm.weight) && floatData(f(lm.weight)!);
  const bias = lm.bias ? f(lm.bias) && floatData(f(lm.bias)!) : undefined;
  if (!gamma || !beta || !weight || (lm.bias && !bias)) return undefined;
  return { gamma, beta, epsilon: fn.epsilon, weight, vocabMajor: tied || lm.vocabMajor, ...(bias ? { bias } : {}) };
}

