// `llm-lens why`: the Why view's numbers in a terminal (issue #15): candidate continuations, the logit difference by
// layer, direct logit attribution, risers, parts switched off, and occlusion; --json prints them whole for scripts.
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { Intervention, OccludeResult, WhyResult } from '../../protocol/why';
import type { WorkerClient } from '../../worker/client';
import { errorMessage } from '../../core/common/errors';
import { intOption, parseOptions, UsageError } from './args';

export const WHY_USAGE = `  llm-lens why <modelFolder> (--text "..." | --file F) [--position N] [--target A [--target B]]
             [--ablate head:L.H|attn:L|mlp:L|edge:FROM>TO ...] [--mean] [--occlude [--drop] [--cap N]] [--json]
      Why the model predicts what it does after token N (default the last): each target's probability and
      rank by layer, the logit difference A - B by layer, direct logit attribution per layer and head,
      tokens a layer ranks high that the output hides; --ablate switches parts off (zeroed, or with --mean
      replaced by their mean over the text), --occlude colours the context by occlusion.`;

/** "head:2.3", "attn:1", "mlp:0", "edge:4>9" as an Intervention. */
export function parseAblation(s: string, mode: 'zero' | 'mean'): Intervention {
  let m = /^head:(\d+)\.(\d+)$/.exec(s);
  if (m) return { kind: 'head', layer: Number(m[1]), head: Number(m[2]), mode };
  m = /^(attn|attention|mlp):(\d+)$/.exec(s);
  if (m) return { kind: m[1] === 'mlp' ? 'mlp' : 'attention', layer: Number(m[2]), mode };
  m = /^edge:(\d+)>(\d+)$/.exec(s);
  if (m) return { kind: 'edge', from: Number(m[1]), to: Number(m[2]) };
  throw new UsageError(`--ablate "${s}" is not head:L.H, attn:L, mlp:L or edge:FROM>TO`);
}

export interface WhyCliOptions {
  folder: string;
  text: string;
  position?: number;
  targets: string[];
  interventions: Intervention[];
  occlude: boolean;
  method: 'mask' | 'drop';
  cap?: number;
  topK: number;
  json: boolean;
  threads: number;
  onnx?: string;
}

export function parseWhy(argv: string[]): WhyCliOptions {
  const parsed = parseOptions(argv, {
    text: { type: 'string' },
    file: { type: 'string' },
    position: { type: 'string' },
    target: { type: 'string', multiple: true },
    ablate: { type: 'string', multiple: true },
    mean: { type: 'boolean', default: false },
    occlude: { type: 'boolean', default: false },
    drop: { type: 'boolean', default: false },
    cap: { type: 'string' },
    'top-k': { type: 'string' },
    json: { type: 'boolean', default: false },
    threads: { type: 'string' },
    onnx: { type: 'string' },
  });
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument "${positionals[1]}"` : 'why needs a model folder');
  if ((values.text === undefined) === (values.file === undefined)) throw new UsageError('why needs exactly one of --text or --file');
  const targets = values.target ?? [];
  if (targets.length > 4) throw new UsageError('at most 4 --target');
  const mode = values.mean ? 'mean' : 'zero';
  return {
    folder: positionals[0],
    text: values.text ?? fs.readFileSync(values.file!, 'utf8'),
    position: intOption('position', values.position, 0, 1 << 20),
    targets,
    interventions: (values.ablate ?? []).map((a) => parseAblation(a, mode)),
    occlude: values.occlude ?? false,
    method: values.drop ? 'drop' : 'mask',
    cap: intOption('cap', values.cap, 1, 1 << 20),
    topK: intOption('top-k', values['top-k'], 1, 100) ?? 10,
    json: values.json ?? false,
    threads: intOption('threads', values.threads, 1, 16) ?? 1,
    onnx: values.onnx,
  };
}

const pct = (p: number) => `${(100 * p).toPrecision(3)}%`;
const fmt = (x: number) => (Number.isFinite(x) ? (x >= 0 ? ' ' : '') + x.toFixed(3) : '   –  ');
const show = (s: string) => JSON.stringify(s);

export function describePart(i: Intervention): string {
  if (i.kind === 'edge') return `edge ${i.from} -> ${i.to} cut`;
  const what = i.kind === 'head' ? `head ${i.layer}.${i.head}` : `layer ${i.layer} ${i.kind === 'attention' ? 'attention' : 'MLP'}`;
  return `${what} ${i.mode === 'mean' ? 'mean-ablated' : 'zeroed'}`;
}

export function formatWhy(r: WhyResult, occ?: OccludeResult): string {
  const lines: string[] = [];
  const L = r.lens.length - 1;
  lines.push(`Prediction after token ${r.position} ${show(r.tokens[r.position].text)} (${r.tokens.length} tokens)`);
  if (r.interventions.length) lines.push(`INTERVENED RUN: ${r.interventions.map(describePart).join('; ')}`);
  lines.push('', 'Next token:' + (r.cleanTop ? '  (clean run on the right)' : ''));
  r.top.forEach((p, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${show(p.text).padEnd(16)} ${pct(p.prob).padStart(8)}${r.cleanTop ? `    ${show(r.cleanTop[i].text).padEnd(16)} ${pct(r.cleanTop[i].prob).padStart(8)}` : ''}`));
  lines.push('', 'Targets (rank of the first token entering each layer, then at the output):');
  for (const t of r.targets) {
    lines.push(`  ${show(t.text)} = ${t.tokens.map(show).join(' + ')}: p = ${pct(t.prob)} (log ${t.logProb.toFixed(3)}); ranks ${t.rankByLayer.join(' ')}`);
  }
  if (r.difference) lines.push(`  logit difference by layer: ${r.difference.map((x) => x.toFixed(2)).join(' ')}`);
  if (r.risers.length) {
    lines.push('', 'Hidden by the last layers (best rank at some layer, rank at the output):');
    for (const x of r.risers) lines.push(`  ${show(x.text).padEnd(16)} rank ${x.bestRank} at layer ${x.layer}, ${x.finalRank} at the output`);
  }
  const a = r.attribution;
  lines.push('', `Direct logit attribution of ${show(a.label)}: ${a.total.toFixed(4)} (components sum to ${a.sum.toFixed(4)}; final norm scale frozen at ${a.normScale.toPrecision(4)})`);
  lines.push(`  embedding ${fmt(a.embedding)}   constant (norm shift, biases) ${fmt(a.bias)}`);
  for (let l = 0; l < L; l++) {
    lines.push(`  layer ${String(l).padStart(2)}: attention ${fmt(a.attention[l])}  MLP ${fmt(a.mlp[l])}   heads ${a.heads[l].length ? a.heads[l].map(fmt).join(' ') : '(not available)'}`);
  }
  if (a.headsUnavailable) lines.push(`  note: ${a.headsUnavailable}`);
  lines.push('  largest: ' + a.top.map((c) => `${c.kind === 'head' ? `head ${c.layer}.${c.head}` : c.kind === 'embedding' || c.kind === 'bias' ? c.kind : `${c.kind} ${c.layer}`} ${fmt(c.value).trim()}`).join(', '));
  if (occ) {
    lines.push('', `Occlusion (${occ.method === 'mask' ? `replaced by ${show(occ.maskToken?.text ?? '?')}` : 'dropped from attention'}) of ${show(occ.target.text)}, log p ${occ.target.logProb.toFixed(3)}: ${occ.occluded} tokens in ${occ.batches} runs${occ.skipped ? `, ${occ.skipped} beyond the cap` : ''}`);
    const order = occ.delta.map((d, i) => ({ d, i })).filter((x) => Number.isFinite(x.d)).sort((x, y) => x.d - y.d);
    for (const { d, i } of order.slice(0, 10)) lines.push(`  ${String(i).padStart(4)} ${show(occ.tokens[i].text).padEnd(16)} ${fmt(d)}`);
  }
  return lines.join('\n');
}

export async function whyCommand(argv: string[], io: { out(s: string): void; err(s: string): void }, start: (threads: number) => WorkerClient): Promise<number> {
  let o: WhyCliOptions;
  try {
    o = parseWhy(argv);
  } catch (e) {
    io.err(`llm-lens: ${errorMessage(e)}`);
    return e instanceof UsageError ? 2 : 1;
  }
  const client = start(o.threads);
  try {
    await client.request('loadModel', { folder: path.resolve(o.folder), onnxFile: o.onnx });
    const r = await client.request('why', { text: o.text, position: o.position, targets: o.targets, interventions: o.interventions, topK: o.topK });
    const occ = o.occlude ? await client.request('occlude', { text: o.text, position: o.position, target: o.targets[0], method: o.method, cap: o.cap }) : undefined;
    io.out(o.json ? JSON.stringify({ why: r, ...(occ ? { occlusion: occ } : {}) }) : formatWhy(r, occ));
    return 0;
  } catch (e) {
    io.err(`llm-lens: ${errorMessage(e).split('\n')[0]}`);
    return 1;
  } finally {
    await client.dispose();
  }
}
