// core/why/: the Why view's answers (issue #15), computed in the worker with forward passes only. This module answers
// a `why` request: candidate continuations (joint probability, rank and logit at every layer), tokens some layer
// ranks high and the output hides, the logit difference by layer, direct logit attribution, and all of it under
// interventions, next to the clean run.
import type { Prediction } from '../../protocol/analysis';
import type { WhyParams, WhyResult, WhyTarget } from '../../protocol/why';
import type { LoadedModel } from '../session/modelSession';
import { InvalidOptionError } from '../analysis/errors';
import { UnsupportedModelError } from '../model/errors';
import { CancelledError } from '../common/errors';
import { topIndices } from '../analysis/topK';
import { attribute } from './attribution';
import { pastPrefix, rowLogProbs } from './batch';
import { cleanMeans, logSumExp, rankOf, whyRun, type WhyRun } from './forward';
import { checkInterventions, interventionFeeds, type CleanMeans } from './interventionFeeds';
import { continuationIds, whyText } from './text';

const LN2 = Math.LN2;
const MAX_TARGETS = 4;

/** The last clean run per model, by text and position, and its means: switching parts on and off reuses them. */
const lastClean = new WeakMap<LoadedModel, { key: string; run: WhyRun; means?: CleanMeans }>();

async function check(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal.aborted) throw new CancelledError();
}

export async function why(model: LoadedModel, params: WhyParams, signal?: AbortSignal): Promise<WhyResult> {
  const t0 = performance.now();
  if (typeof params !== 'object' || params === null) throw new InvalidOptionError('why needs {text, ...}.');
  if (!model.whyPoints) throw new UnsupportedModelError(model.spec.name, 'the graph was instrumented without the Why points.');
  const { ids, tokens, position: p } = whyText(model, params?.text, params?.position);
  const T = ids.length;
  const topK = params.topK ?? 10;
  if (!Number.isInteger(topK) || topK < 1 || topK > 100) throw new InvalidOptionError(`topK must be 1..100, not ${JSON.stringify(params.topK)}.`);
  const nRisers = params.risers ?? 5;
  if (!Number.isInteger(nRisers) || nRisers < 0 || nRisers > 50) throw new InvalidOptionError(`risers must be 0..50, not ${JSON.stringify(params.risers)}.`);
  const targetTexts = params.targets ?? [];
  if (!Array.isArray(targetTexts) || targetTexts.length > MAX_TARGETS) throw new InvalidOptionError(`targets must be a list of at most ${MAX_TARGETS} strings.`);
  const targetIds = targetTexts.map((t) => continuationIds(model, t));
  const interventions = checkInterventions(model, params.interventions, T);
  const attributeMode = params.attribute ?? (targetIds.length >= 2 ? 'difference' : 'target');
  if (attributeMode !== 'target' && attributeMode !== 'difference') throw new InvalidOptionError(`attribute must be 'target' or 'difference'.`);
  if (attributeMode === 'difference' && targetIds.length < 2) throw new InvalidOptionError('attribute "difference" needs two targets.');

  // The clean run: the answer itself when nothing is switched off, else the reference and the means.
  const key = JSON.stringify([ids, p]);
  let runMs = 0;
  let kept = lastClean.get(model)?.key === key ? lastClean.get(model) : undefined;
  if (!kept) {
    kept = { key, run: await whyRun(model, ids, p, {}, signal) };
    runMs += kept.run.runMs;
    lastClean.set(model, kept);
  }
  const clean = kept.run;
  await check(signal);
  let r = clean;
  let feedsFor: (rowLength: number) => ReturnType<typeof interventionFeeds> = () => ({});
  if (interventions.length) {
    const means = (kept.means ??= cleanMeans(model, clean));
    feedsFor = (n) => interventionFeeds(model, interventions, n, means);
    r = await whyRun(model, ids, p, feedsFor(T), signal);
    runMs += r.runMs;
    await check(signal);
  }

  const text = (id: number) => model.tokenizer.tokenText(id);
  const topOf = (row: ArrayLike<number>, k: number, lse = logSumExp(row)): Prediction[] => topIndices(row, k).map((id) => ({ id, text: text(id), prob: Math.exp(row[id] - lse) }));
  const top = topOf(r.logits, topK, r.lse);
  // Empty: the model's own top token is what is explained.
  const firstIds = targetIds.length ? targetIds : [[top[0].id]];
  const shownTexts = targetIds.length ? targetTexts : [top[0].text];
  const lseFinal = r.lse;

  // Tokens after the first of each continuation: teacher-forced, the rows of all the longer ones in one batched run.
  const longer = firstIds.map((c, i) => (c.length > 1 ? i : -1)).filter((i) => i >= 0);
  const restLogProb = new Map<number, number[]>();
  if (longer.length) {
    const maxLen = Math.max(...longer.map((i) => firstIds[i].length));
    // Token j of a continuation sits at p + 1 + j and is predicted at p + j. Padding after the continuation cannot
    // change it (attention is causal).
    const pad = (c: number[], n: number) => [...c, ...new Array<number>(Math.max(0, n - c.length)).fill(c[c.length - 1])];
    const cut = interventions.some((iv) => iv.kind === 'edge');
    let got: number[][];
    if (r.presents && !cut) {
      // From the run's own keys and values of tokens 0..p: only the continuations' tokens run (a cut edge's score
      // mask is drawn for whole rows, so those rerun the text).
      const rows = longer.map((i) => pad(firstIds[i], maxLen));
      const presents = r.presents;
      const past = (batch: number) => Object.fromEntries(Object.entries(presents).map(([name, t]) => [name.replace(/^present\./, 'past_key_values.'), pastPrefix(t, p + 1, batch)]));
      const at = Array.from({ length: maxLen - 1 }, (_, j) => j);
      ({ values: got } = await rowLogProbs(model, rows, undefined, at, (n, batch) => ({ ...feedsFor(n), ...past(batch) }), { signal, batch: rows.length, pastLength: p + 1 }));
    } else {
      const rows = longer.map((i) => [...ids.slice(0, p + 1), ...pad(firstIds[i], maxLen)]);
      const at = Array.from({ length: maxLen - 1 }, (_, j) => p + 1 + j);
      ({ values: got } = await rowLogProbs(model, rows, undefined, at, feedsFor, { signal, batch: rows.length }));
    }
    longer.forEach((ti, b) => restLogProb.set(ti, got[b].slice(0, firstIds[ti].length - 1)));
  }
  const L = model.nLayers;
  const targets: WhyTarget[] = firstIds.map((c, i) => {
    const first = c[0];
    const logProb = r.logits[first] - lseFinal + (restLogProb.get(i) ?? []).reduce((a, b) => a + b, 0);
    return {
      text: shownTexts[i],
      tokenIds: c,
      tokens: c.map(text),
      prob: Math.exp(logProb),
      logProb,
      rankByLayer: [...r.lens.map((row) => rankOf(row, first)), rankOf(r.logits, first)],
      logitByLayer: [...r.lens.map((row) => row[first]), r.logits[first]],
    };
  });
  await check(signal);

  const lens = [...r.lens.map((row, l) => topOf(row, topK, r.lensLse[l])), top];
  const risers = findRisers(r, nRisers, text);
  const difference = targets.length >= 2 ? targets[0].logitByLayer.map((v, l) => v - targets[1].logitByLayer[l]) : undefined;
  const explained = attributeMode === 'difference' ? [targets[0].tokenIds[0], targets[1].tokenIds[0]] : [targets[0].tokenIds[0]];
  const label = attributeMode === 'difference' ? `${targets[0].tokens[0]} − ${targets[1].tokens[0]}` : targets[0].tokens[0];
  const attribution = attribute(model, r, explained, label);
  const surprisal = (run: WhyRun) => run.logProbs.map((lp) => (Number.isNaN(lp) ? NaN : -lp / LN2));
  const result: WhyResult = {
    tokens,
    position: p,
    interventions,
    top,
    surprisal: surprisal(r),
    lens: L > 0 && r.lens.length ? lens : [top],
    targets,
    risers,
    ...(difference ? { difference } : {}),
    attribution,
    timings: { runMs, totalMs: 0 },
  };
  if (interventions.length) {
    result.cleanTop = topOf(clean.logits, topK);
    result.cleanSurprisal = surprisal(clean);
  }
  result.timings.totalMs = performance.now() - t0;
  return result;
}

/**
 * Tokens that some layer before the output ranks far higher than the output does. Layer 0's lens (the embedding read
 * through the output) is left out: with tied embeddings it ranks the input token itself first, which says nothing.
 * Candidates are each layer's top 20; "far higher" is a final rank at least 3 times the best one and outside the top 5.
 */
function findRisers(r: WhyRun, n: number, text: (id: number) => string): WhyResult['risers'] {
  if (n === 0 || r.lens.length === 0) return [];
  const first = r.lens.length > 1 ? 1 : 0;
  const best = new Map<number, { rank: number; layer: number }>();
  for (let l = first; l < r.lens.length; l++) {
    topIndices(r.lens[l], 20).forEach((id, i) => {
      const b = best.get(id);
      if (!b || i + 1 < b.rank) best.set(id, { rank: i + 1, layer: l });
    });
  }
  const sorted = Float32Array.from(r.logits).sort().reverse();
  const finalRank = (id: number) => {
    // Binary search in the descending logits: how many are strictly greater.
    const v = r.logits[id];
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] > v) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const out: WhyResult['risers'] = [];
  for (const [id, b] of best) {
    const f = finalRank(id);
    if (f > 5 && f >= 3 * b.rank) out.push({ id, text: text(id), bestRank: b.rank, layer: b.layer, finalRank: f });
  }
  return out.sort((a, b) => b.finalRank / b.bestRank - a.finalRank / a.bestRank).slice(0, n);
}
