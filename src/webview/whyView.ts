// Why tab: why the model expects what it expects after the chosen token. Candidate continuations (probability, rank
// at every layer, the logit difference of two), direct logit attribution (per layer and per head, the largest named
// in words), occlusion of the context tokens, and parts of the model switched off with the difference it makes.
// Token text comes from the model and from the person: it only ever goes in as text (el, textContent) or on canvas.
import { MAX_INTERVENTIONS, MAX_WHY_TARGETS, MAX_WHY_TARGET_CHARS, samePart, whyKey, type PanelOcclusion } from '../protocol/webview';
import type { Intervention, WhyAttribution, WhyComponent, WhyResult, WhyTarget } from '../protocol/why';
import type { Prediction } from '../protocol/analysis';
import { el } from './dom';
import { fmt, num, predictionLabel, prob, tokenLabel, tokenPieces } from './format';
import { fitText, hideTip, legend, pointer, showTip, surface } from './canvas';
import { contrast, css, diverging, mix, textOn, theme } from './theme';
import { dataTable } from './table';
import { vscode } from './vscodeApi';
import type { ViewCtx } from './viewContext';

/** What the person is typing in the candidate box survives the re-renders that answers cause. */
let draft = '';
/** So does the pair chosen in the edge control, until another token is chosen (then it starts again from that one). */
let edgeDraft: { chosen: number; from: number; to: number } | undefined;

export function renderWhy(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const why = ctx.why;
  const pos = ui.chosen;
  const tok = data.tokens[pos];
  const parts: HTMLElement[] = [el('p', { class: 'explain' }, fmt(s['why.explain'], tokenLabel(tok, 24)))];
  if (ui.whyInterventions.length > 0) parts.push(interventionBanner(ctx));

  const current = !!why && why.key === whyKey(ui);
  const result = why?.result;
  if (why?.busy || (why && !current)) parts.push(el('p', { class: 'muted', role: 'status' }, s.updating));
  if (current && why?.error) parts.push(el('div', { class: 'notice error', role: 'alert' }, el('p', {}, why.error)));
  if (!result) {
    if (!why?.busy && !why?.error) parts.push(el('p', { class: 'muted', role: 'status' }, s['why.asking']));
    parts.push(candidateInput(ctx));
    parts.push(occlusionSection(ctx, why?.occlusion), edgeSection(ctx));
    return el('div', { class: 'why' }, ...parts);
  }
  const stale = !current || result.position !== pos;
  const body = el('div', { class: `why-body${stale ? ' stale' : ''}` });
  body.append(nextTokenSection(ctx, result), candidatesSection(ctx, result), attributionSection(ctx, result.attribution, result.targets));
  parts.push(body, occlusionSection(ctx, why?.occlusion), edgeSection(ctx));
  return el('div', { class: 'why' }, ...parts);
}

// ---- interventions ----

function interventionLabel(s: Record<string, string>, iv: Intervention, tokens: ViewCtx['data']['tokens']): string {
  const mode = iv.kind === 'edge' ? '' : ` · ${iv.mode === 'mean' ? s['why.modeMeanShort'] : s['why.modeZeroShort']}`;
  switch (iv.kind) {
    case 'head':
      return fmt(s['why.partHead'], iv.layer, iv.head) + mode;
    case 'attention':
      return fmt(s['why.partAttention'], iv.layer) + mode;
    case 'mlp':
      return fmt(s['why.partMlp'], iv.layer) + mode;
    case 'edge':
      return fmt(s['why.partEdge'], tokens[iv.to] ? tokenLabel(tokens[iv.to], 12) : String(iv.to), tokens[iv.from] ? tokenLabel(tokens[iv.from], 12) : String(iv.from));
  }
}

/** Switches a part off, or on again when it is off already (in whichever mode). */
function toggle(ctx: ViewCtx, part: Intervention): void {
  const list = ctx.ui.whyInterventions;
  const i = list.findIndex((x) => samePart(x, part));
  if (i >= 0) ctx.setUi({ whyInterventions: list.filter((_, k) => k !== i) });
  else if (list.length < MAX_INTERVENTIONS) ctx.setUi({ whyInterventions: [...list, part] });
}

function isOff(ctx: ViewCtx, part: Intervention): boolean {
  return ctx.ui.whyInterventions.some((x) => samePart(x, part));
}

function interventionBanner(ctx: ViewCtx): HTMLElement {
  const { s, ui } = ctx;
  const n = ui.whyInterventions.length;
  const list = el('ul', { class: 'chips', 'aria-label': s['why.activeInterventions'] });
  ui.whyInterventions.forEach((iv, i) => {
    const label = interventionLabel(s, iv, ctx.data.tokens);
    const remove = el('button', { type: 'button', class: 'icon chip-x', 'aria-label': fmt(s['why.switchOn'], label), title: fmt(s['why.switchOn'], label), 'data-key': `iv-${i}` }, '×');
    remove.addEventListener('click', () => ctx.setUi({ whyInterventions: ui.whyInterventions.filter((_, k) => k !== i) }));
    list.append(el('li', { class: 'chip' }, el('span', {}, label), remove));
  });
  const clear = el('button', { type: 'button', class: 'secondary', 'data-key': 'iv-clear' }, s['why.clearAll']);
  clear.addEventListener('click', () => ctx.setUi({ whyInterventions: [] }));
  return el(
    'section',
    { class: 'banner', role: 'status', 'aria-label': s['why.intervenedRun'] },
    el('div', { class: 'banner-head' }, el('strong', {}, fmt(n === 1 ? s['why.intervenedOne'] : s['why.intervenedMany'], n)), clear),
    list,
    el('p', { class: 'muted small' }, s['why.intervenedHint']),
  );
}

// ---- the next token, this run and the clean one ----

function nextTokenSection(ctx: ViewCtx, r: WhyResult): HTMLElement {
  const { s, data } = ctx;
  const intervened = r.interventions.length > 0;
  const pos = r.position;
  const sec = el('section', { class: 'why-section' });
  sec.append(el('h2', {}, fmt(s['why.nextHeading'], tokenLabel(data.tokens[pos], 20))));
  const nextId = data.tokens[pos + 1]?.id;
  const max = Math.max(...r.top.map((p) => p.prob), ...(r.cleanTop ?? []).map((p) => p.prob), 1e-9);
  const list = el('ol', { class: 'bars why-top', 'aria-label': s['why.nextList'] });
  for (const p of r.top) {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(p.prob / max) * 100}%`;
    const track = el('span', { class: 'track' }, bar);
    const clean = r.cleanTop?.find((c) => c.id === p.id);
    if (intervened && clean) {
      const mark = el('span', { class: 'clean-mark', title: fmt(s['why.cleanProb'], prob(clean.prob)) });
      mark.style.left = `${(clean.prob / max) * 100}%`;
      track.append(mark);
    }
    const label = el('span', { class: `pred${p.id === nextId ? ' actual' : ''}`, title: p.id === nextId ? s.actualNext : '' }, predictionLabel(p.text, 20));
    const cells: HTMLElement[] = [label, track, el('span', { class: 'num' }, prob(p.prob))];
    if (intervened) cells.push(el('span', { class: 'num delta' }, clean ? signedPoints(s, p.prob - clean.prob) : s['why.newInTop']));
    list.append(el('li', { class: intervened ? 'with-delta' : '' }, ...cells));
  }
  sec.append(list);
  if (intervened) sec.append(el('p', { class: 'muted small' }, s['why.cleanMarkHint']));
  if (intervened && r.cleanTop) {
    const gone = r.cleanTop.filter((c) => !r.top.some((p) => p.id === c.id)).slice(0, 5);
    if (gone.length) sec.append(el('p', { class: 'muted small' }, `${s['why.leftTop']} ${gone.map((g) => `${predictionLabel(g.text, 14)} ${prob(g.prob)}`).join(' · ')}`));
  }
  sec.append(surprisalFacts(ctx, r));
  sec.append(lensTable(ctx, r));
  return sec;
}

function signedPoints(s: Record<string, string>, dp: number): string {
  const pts = dp * 100;
  return fmt(s['why.points'], `${pts >= 0 ? '+' : '−'}${num(Math.abs(pts), 1)}`);
}

function signed(x: number, digits = 2): string {
  return `${x >= 0 ? '+' : '−'}${num(Math.abs(x), digits)}`;
}

function surprisalFacts(ctx: ViewCtx, r: WhyResult): HTMLElement {
  const { s, data } = ctx;
  const p = el('p', { class: 'facts' });
  const next = r.position + 1;
  const facts: string[] = [];
  const bits = r.surprisal[next];
  if (next < r.surprisal.length && Number.isFinite(bits)) {
    const label = tokenLabel(data.tokens[next] ?? { text: r.tokens[next]?.text ?? '', bytes: [], partial: false }, 16);
    const clean = r.cleanSurprisal?.[next];
    facts.push(
      clean !== undefined && Number.isFinite(clean) && r.interventions.length > 0
        ? fmt(s['why.surprisalNextVs'], label, num(bits, 2), num(clean, 2), signed(bits - clean))
        : fmt(s['why.surprisalNext'], label, num(bits, 2)),
    );
  } else facts.push(s['why.endOfText']);
  const mean = meanFinite(r.surprisal);
  const cleanMean = r.cleanSurprisal ? meanFinite(r.cleanSurprisal) : undefined;
  if (mean !== undefined) {
    facts.push(cleanMean !== undefined && r.interventions.length > 0 ? fmt(s['why.surprisalMeanVs'], num(mean, 2), num(cleanMean, 2), signed(mean - cleanMean)) : fmt(s['why.surprisalMean'], num(mean, 2)));
  }
  p.append(facts.join(' · '));
  return p;
}

function meanFinite(v: readonly number[]): number | undefined {
  let sum = 0;
  let n = 0;
  for (const x of v) {
    if (x === null || !Number.isFinite(x)) continue;
    sum += x;
    n++;
  }
  return n ? sum / n : undefined;
}

function stageName(s: Record<string, string>, l: number, L: number): string {
  return l === 0 ? s.stageInputShort : l === L ? s.stageOutputShort : fmt(s.stageAfterShort, l - 1);
}

function lensTable(ctx: ViewCtx, r: WhyResult): HTMLElement {
  const { s } = ctx;
  const L = r.lens.length - 1;
  return dataTable(
    r.interventions.length ? s['why.lensIntervened'] : s['why.lensClean'],
    [s.colStage, s.colLogitLens],
    () => r.lens.map((top: Prediction[], l) => [stageName(s, l, L), top.slice(0, 5).map((p) => `${predictionLabel(p.text, 14)} ${prob(p.prob)}`).join('  ')]),
    'why-lens',
  );
}

// ---- candidates ----

function candidateInput(ctx: ViewCtx): HTMLElement {
  const { s, ui } = ctx;
  const input = el('input', { type: 'text', id: 'why-target', class: 'text-input', 'data-key': 'why-target', maxlength: String(MAX_WHY_TARGET_CHARS), placeholder: s['why.targetPlaceholder'], 'aria-describedby': 'why-target-hint', spellcheck: 'false' });
  input.value = draft;
  const full = ui.whyTargets.length >= MAX_WHY_TARGETS;
  input.disabled = full;
  const add = el('button', { type: 'button', 'data-key': 'why-add' }, s['why.add']);
  add.disabled = full;
  const submit = () => {
    const text = input.value;
    if (!text || text.length > MAX_WHY_TARGET_CHARS || ui.whyTargets.includes(text) || ui.whyTargets.length >= MAX_WHY_TARGETS) return;
    draft = '';
    ctx.setUi({ whyTargets: [...ui.whyTargets, text] });
  };
  input.addEventListener('input', () => (draft = input.value));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      submit();
    }
  });
  add.addEventListener('click', submit);
  // Focus comes back after a re-render at the end of what was typed.
  requestAnimationFrame(() => {
    if (document.activeElement === input) input.setSelectionRange(input.value.length, input.value.length);
  });
  return el(
    'div',
    { class: 'why-input' },
    el('div', { class: 'options' }, el('label', { for: 'why-target' }, s['why.targetLabel']), input, add),
    el('p', { class: 'muted small', id: 'why-target-hint' }, full ? fmt(s['why.targetsFull'], MAX_WHY_TARGETS) : s['why.targetHint']),
  );
}

/** A token's text with its spaces and line breaks made visible, as a chip. */
function tokenChip(text: string, cls = 'pred'): HTMLElement {
  const chip = el('span', { class: cls });
  for (const p of tokenPieces({ text, bytes: [], partial: false }, false)) chip.append(p.mark ? el('span', { class: p.esc ? 'esc' : 'ws' }, p.text) : document.createTextNode(p.text));
  return chip;
}

function candidatesSection(ctx: ViewCtx, r: WhyResult): HTMLElement {
  const { s, ui } = ctx;
  const sec = el('section', { class: 'why-section' });
  sec.append(el('h2', {}, s['why.candidatesHeading']), el('p', { class: 'explain' }, s['why.explainCandidates']), candidateInput(ctx));
  // Risers: what some layer ranked high and the output does not, offered as one-click candidates.
  const risers = r.risers.filter((x) => !ui.whyTargets.includes(x.text));
  if (risers.length) {
    const row = el('div', { class: 'options risers' }, el('span', { class: 'muted' }, s['why.risers']));
    for (const x of risers) {
      const b = el('button', { type: 'button', class: 'secondary riser', 'data-key': `riser-${x.id}`, title: fmt(s['why.riserTitle'], x.bestRank, x.layer, x.finalRank) }, '+ ', tokenChip(x.text, 'riser-text'), el('span', { class: 'muted small' }, ` ${fmt(s['why.riserShort'], x.bestRank, x.layer)}`));
      b.disabled = ui.whyTargets.length >= MAX_WHY_TARGETS;
      b.addEventListener('click', () => ctx.setUi({ whyTargets: [...ui.whyTargets, x.text] }));
      row.append(b);
    }
    sec.append(row);
  }
  if (r.targets.length === 0) {
    sec.append(el('p', { class: 'muted' }, s['why.noTargets']));
    return sec;
  }
  const L = r.lens.length - 1;
  const table = el('table', { class: 'layers why-targets' });
  table.append(el('thead', {}, el('tr', {}, ...[s['why.colCandidate'], s['why.colTokens'], s['why.colProb'], s['why.colRank'], s['why.colFinalRank'], ''].map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  r.targets.forEach((t, i) => {
    const typed = ui.whyTargets.indexOf(t.text);
    const remove = el('button', { type: 'button', class: 'icon', 'aria-label': fmt(s['why.remove'], t.text), title: fmt(s['why.remove'], t.text), 'data-key': `target-x-${i}` }, '×');
    remove.disabled = typed < 0;
    remove.addEventListener('click', () => ctx.setUi({ whyTargets: ui.whyTargets.filter((x) => x !== t.text) }));
    const split = el('td', { class: 'split' }, ...t.tokens.map((x) => tokenChip(x)));
    body.append(
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, el('span', { class: `swatch c${i}` }), tokenChip(t.text, 'mono')),
        split,
        el('td', { class: 'num', title: fmt(s['why.logProb'], num(t.logProb, 3)) }, prob(t.prob)),
        el('td', {}, rankSpark(ctx, t, i, L)),
        el('td', { class: 'num' }, String(t.rankByLayer[L] ?? '—')),
        el('td', {}, remove),
      ),
    );
  });
  table.append(body);
  sec.append(el('div', { class: 'scroll-x' }, table), el('p', { class: 'muted small' }, s['why.rankHint']));
  if (r.difference && r.targets.length >= 2) sec.append(differenceChart(ctx, r.difference, r.targets[0], r.targets[1]));
  return sec;
}

/** The rank of a candidate's first token at each stage, as a small line: rank 1 at the top, on a log scale. */
function rankSpark(ctx: ViewCtx, t: WhyTarget, colour: number, L: number): HTMLElement {
  const { s } = ctx;
  const th = theme();
  const w = 150;
  const h = 34;
  const ranks = t.rankByLayer;
  const label = `${fmt(s['why.rankChart'], t.text)}: ${ranks.map((r, l) => `${stageName(s, l, L)} ${r}`).join(', ')}`;
  const sf = surface(w, h, label);
  const { ctx: c } = sf;
  const maxLog = Math.max(1, ...ranks.map((r) => Math.log10(Math.max(1, r))));
  const x = (l: number) => 4 + (l / Math.max(1, L)) * (w - 8);
  const y = (r: number) => 4 + (Math.log10(Math.max(1, r)) / maxLog) * (h - 8);
  c.strokeStyle = css(mix(th.bg, th.fg, 0.18));
  c.lineWidth = 1;
  c.beginPath();
  c.moveTo(2, 4.5);
  c.lineTo(w - 2, 4.5);
  c.stroke();
  const col = th.palette[colour % th.palette.length];
  c.strokeStyle = css(col);
  c.lineWidth = 1.5;
  c.beginPath();
  ranks.forEach((r, l) => (l === 0 ? c.moveTo(x(l), y(r)) : c.lineTo(x(l), y(r))));
  c.stroke();
  c.fillStyle = css(col);
  ranks.forEach((r, l) => {
    c.beginPath();
    c.arc(x(l), y(r), r === 1 ? 3 : 2, 0, Math.PI * 2);
    c.fill();
  });
  sf.canvas.addEventListener('mousemove', (e) => {
    const p = pointer(sf.canvas, e);
    const l = Math.max(0, Math.min(L, Math.round(((p.x - 4) / (w - 8)) * L)));
    showTip(`${stageName(s, l, L)}: ${fmt(s['why.rankIs'], ranks[l])}`, e.clientX, e.clientY);
  });
  sf.canvas.addEventListener('mouseleave', hideTip);
  return sf.canvas;
}

/** Logit of A minus logit of B at each stage (logit lens): where in the stack the model comes to prefer one. */
function differenceChart(ctx: ViewCtx, diff: number[], a: WhyTarget, b: WhyTarget): HTMLElement {
  const { s } = ctx;
  const th = theme();
  const L = diff.length - 1;
  const w = Math.min(ctx.width, 560);
  const h = 150;
  const left = 44;
  const bottom = 22;
  const top = 10;
  // The lens reads one position: the difference is of each candidate's first token.
  const aL = predictionLabel(a.tokens[0] ?? a.text, 16);
  const bL = predictionLabel(b.tokens[0] ?? b.text, 16);
  const label = `${fmt(s['why.diffChart'], aL, bL)}: ${diff.map((d, l) => `${stageName(s, l, L)} ${num(d, 2)}`).join(', ')}`;
  const sf = surface(w, h, label);
  const { ctx: c } = sf;
  const m = Math.max(1e-6, ...diff.map((d) => Math.abs(d)));
  const x = (l: number) => left + 8 + (l / Math.max(1, L)) * (w - left - 24);
  const y = (d: number) => top + ((m - d) / (2 * m)) * (h - top - bottom);
  c.font = th.font;
  c.textBaseline = 'middle';
  c.fillStyle = css(th.muted);
  c.textAlign = 'right';
  c.fillText(`+${num(m, 1)}`, left - 4, y(m));
  c.fillText('0', left - 4, y(0));
  c.fillText(`−${num(m, 1)}`, left - 4, y(-m));
  c.strokeStyle = css(mix(th.bg, th.fg, 0.3));
  c.lineWidth = 1;
  c.beginPath();
  c.moveTo(left, Math.round(y(0)) + 0.5);
  c.lineTo(w - 8, Math.round(y(0)) + 0.5);
  c.stroke();
  // The side of zero each candidate wins on, named at the right edge.
  c.textAlign = 'left';
  c.fillStyle = css(th.palette[0]);
  c.fillText(fitText(c, fmt(s['why.diffPrefers'], aL), w - left - 60), left + 4, top + 6);
  c.fillStyle = css(th.palette[1]);
  c.fillText(fitText(c, fmt(s['why.diffPrefers'], bL), w - left - 60), left + 4, h - bottom - 6);
  c.strokeStyle = css(th.fg);
  c.lineWidth = 1.5;
  c.beginPath();
  diff.forEach((d, l) => (l === 0 ? c.moveTo(x(l), y(d)) : c.lineTo(x(l), y(d))));
  c.stroke();
  diff.forEach((d, l) => {
    c.fillStyle = css(d >= 0 ? th.palette[0] : th.palette[1]);
    c.beginPath();
    c.arc(x(l), y(d), 3, 0, Math.PI * 2);
    c.fill();
  });
  c.fillStyle = css(th.muted);
  c.textAlign = 'center';
  let lastEnd = -Infinity;
  for (let l = 0; l <= L; l++) {
    const t = stageName(s, l, L);
    const tw = c.measureText(t).width;
    // Centred under its point, but never past either edge of the canvas.
    const cx = Math.min(Math.max(x(l), left + tw / 2), w - 2 - tw / 2);
    if (cx - tw / 2 < lastEnd + 6) continue;
    c.fillText(t, cx, h - 8);
    lastEnd = cx + tw / 2;
  }
  sf.canvas.addEventListener('mousemove', (e) => {
    const p = pointer(sf.canvas, e);
    const l = Math.max(0, Math.min(L, Math.round(((p.x - left - 8) / (w - left - 24)) * L)));
    showTip(`${stageName(s, l, L)}: ${signed(diff[l])}`, e.clientX, e.clientY);
  });
  sf.canvas.addEventListener('mouseleave', hideTip);
  return el(
    'div',
    { class: 'why-diff' },
    el('h3', {}, fmt(s['why.diffHeading'], aL, bL)),
    el('p', { class: 'explain' }, s['why.explainDiff']),
    el('div', { class: 'chart' }, sf.canvas),
  );
}

// ---- direct logit attribution ----

/** A component in plain words: "Layer 3 head 5 pushes ' Paris' up by 2.1 logits". */
function sentence(s: Record<string, string>, c: WhyComponent, what: string): string {
  const part =
    c.kind === 'head'
      ? fmt(s['why.partHead'], c.layer ?? 0, c.head ?? 0)
      : c.kind === 'attention'
        ? fmt(s['why.partAttention'], c.layer ?? 0)
        : c.kind === 'mlp'
          ? fmt(s['why.partMlp'], c.layer ?? 0)
          : c.kind === 'embedding'
            ? s['why.partEmbedding']
            : s['why.partBias'];
  return fmt(c.value >= 0 ? s['why.pushesUp'] : s['why.pushesDown'], part, what, num(Math.abs(c.value), 2));
}

function attributionSection(ctx: ViewCtx, a: WhyAttribution, targets: WhyTarget[]): HTMLElement {
  const { s, ui } = ctx;
  const th = theme();
  const L = a.attention.length;
  // "A − B" from the candidates, each shown as every token is (spaces visible); the worker's label otherwise.
  // Attribution reads one position: the first token of each candidate.
  const what =
    a.tokenIds.length >= 2 && targets.length >= 2
      ? `${predictionLabel(targets[0].tokens[0] ?? targets[0].text, 16)} − ${predictionLabel(targets[1].tokens[0] ?? targets[1].text, 16)}`
      : a.tokenIds.length >= 2
        ? a.label
        : predictionLabel(targets[0]?.tokens[0] ?? a.label, 20);
  const sec = el('section', { class: 'why-section' });
  sec.append(
    el('h2', {}, fmt(s['why.dlaHeading'], what)),
    el('p', { class: 'explain' }, s['why.explainDla']),
  );
  if (!(L > 0) || !Number.isFinite(a.sum)) {
    // The model's final norm or LM head could not be read as constants: the logit only, no parts.
    sec.append(el('div', { class: 'notice info', role: 'status' }, el('p', {}, s['why.dlaUnavailable']), ...(a.headsUnavailable ? [el('p', { class: 'muted small' }, a.headsUnavailable)] : [])));
    return sec;
  }
  // A layer's attention and its heads are the same contribution counted twice: name the heads where they are known.
  const headsKnown = (l: number | undefined) => l !== undefined && (a.heads[l]?.length ?? 0) > 0;
  const named = a.top.filter((c) => Number.isFinite(c.value) && !(c.kind === 'attention' && headsKnown(c.layer))).slice(0, 5);
  const top = el('ul', { class: 'why-sentences' });
  for (const c of named) top.append(el('li', {}, sentence(s, c, what)));
  sec.append(top);
  sec.append(
    el(
      'p',
      { class: 'muted small' },
      fmt(a.tokenIds.length >= 2 ? s['why.sumCheckDiff'] : s['why.sumCheck'], num(a.sum, 3), num(a.total, 3), signed(a.embedding), signed(a.bias), num(a.normScale, 4)),
    ),
  );

  const mode = el('select', { id: 'why-mode', 'data-key': 'why-mode' }, el('option', { value: 'zero' }, s['why.modeZero']), el('option', { value: 'mean' }, s['why.modeMean']));
  mode.value = ui.whyMode;
  mode.addEventListener('change', () => ctx.setUi({ whyMode: mode.value === 'mean' ? 'mean' : 'zero' }));
  sec.append(el('div', { class: 'options' }, el('label', { for: 'why-mode' }, s['why.modeLabel']), mode, el('span', { class: 'muted small' }, s['why.clickHint'])));

  // Per layer: attention and MLP side by side, bars from a centre line; each bar switches its part off.
  let maxBar = 1e-9;
  for (let l = 0; l < L; l++) maxBar = Math.max(maxBar, Math.abs(a.attention[l]), Math.abs(a.mlp[l]));
  maxBar = Math.max(maxBar, Math.abs(a.embedding), Math.abs(a.bias));
  const bars = el('div', { class: 'dla-bars', role: 'group', 'aria-label': s['why.barsLabel'] });
  bars.append(el('span'), el('span', { class: 'muted small dla-col' }, s['why.colAttention']), el('span', { class: 'muted small dla-col' }, s['why.colMlp']));
  const fixed = (label: string, v: number) => {
    bars.append(el('span', { class: 'dla-row-label', title: label }, label), barCell(v, maxBar, undefined, `${label}: ${signed(v)}`), el('span'));
  };
  fixed(s['why.rowEmbedding'], a.embedding);
  for (let l = 0; l < L; l++) {
    const attn: Intervention = { kind: 'attention', layer: l, mode: ui.whyMode };
    const mlp: Intervention = { kind: 'mlp', layer: l, mode: ui.whyMode };
    bars.append(
      el('span', { class: 'dla-row-label' }, fmt(s.layerN, l)),
      barCell(a.attention[l], maxBar, { ctx, part: attn, key: `bar-a-${l}` }, `${fmt(s['why.partAttention'], l)}: ${signed(a.attention[l])}`),
      barCell(a.mlp[l], maxBar, { ctx, part: mlp, key: `bar-m-${l}` }, `${fmt(s['why.partMlp'], l)}: ${signed(a.mlp[l])}`),
    );
  }
  fixed(s['why.rowBias'], a.bias);

  // Layer x head grid, diverging: red pushes up, blue pushes down, the background nothing.
  let maxHead = 1e-9;
  for (const row of a.heads) for (const v of row) if (Number.isFinite(v)) maxHead = Math.max(maxHead, Math.abs(v));
  const H = Math.max(ctx.data.model.nHead, ...a.heads.map((row) => row.length));
  const grid = el('div', { class: 'head-grid', role: 'group', 'aria-label': s['why.gridLabel'] });
  const headsBlocked = partBlocked(ctx, 'head');
  grid.style.gridTemplateColumns = `auto repeat(${H}, minmax(32px, 52px))`;
  grid.append(el('span'));
  for (let h = 0; h < H; h++) grid.append(el('span', { class: 'muted small head-col' }, String(h)));
  for (let l = 0; l < L; l++) {
    grid.append(el('span', { class: 'dla-row-label' }, fmt(s.layerN, l)));
    for (let h = 0; h < H; h++) {
      const known = headsKnown(l) && Number.isFinite(a.heads[l][h]);
      const v = known ? a.heads[l][h] : 0;
      const part: Intervention = { kind: 'head', layer: l, head: h, mode: ui.whyMode };
      const off = isOff(ctx, part);
      const cell = diverging(th, v / maxHead);
      const name = fmt(s['why.partHead'], l, h);
      const b = el(
        'button',
        {
          type: 'button',
          class: `head-cell${off ? ' off' : ''}`,
          'data-key': `head-${l}-${h}`,
          'aria-pressed': String(off),
          'aria-label': `${name}: ${known ? signed(v) : s['why.headUnknown']} · ${off ? s['why.isOff'] : (headsBlocked ?? s['why.pressToSwitchOff'])}`,
          title: `${name}: ${known ? signed(v) : s['why.headUnknown']}\n${off ? s['why.isOffClick'] : (headsBlocked ?? s['why.pressToSwitchOff'])}`,
        },
        off ? s['why.offShort'] : known ? cellNum(v) : '·',
      );
      // A part that cannot be switched off cannot be pressed (one already off can still be switched back on).
      b.disabled = !off && headsBlocked !== undefined;
      b.style.backgroundColor = css(cell);
      b.style.color = css(contrast(cell, th.fg) >= 4.5 ? th.fg : textOn(cell));
      b.addEventListener('click', () => toggle(ctx, part));
      grid.append(b);
    }
  }
  sec.append(
    el(
      'div',
      { class: 'row why-dla-row' },
      el('div', { class: 'col' }, el('h3', {}, s['why.barsHeading']), el('p', { class: 'explain small' }, s['why.explainBars']), bars),
      el(
        'div',
        { class: 'col heads-col' },
        el('h3', {}, s['why.gridHeading']),
        el('p', { class: 'explain small' }, s['why.explainGrid']),
        el('div', { class: 'legend-row' }, legend(s['why.logitsLegend'], `−${num(maxHead, 2)}`, `+${num(maxHead, 2)}`, (x) => diverging(th, x * 2 - 1), 160)),
        el('div', { class: 'scroll-x' }, grid),
        ...(a.headsUnavailable ? [el('p', { class: 'muted small' }, `${s['why.headsPartly']} (${a.headsUnavailable})`)] : []),
      ),
    ),
  );
  return sec;
}

/** A head's share in its cell: one decimal, and no "−0.0" for what rounds to nothing. */
function cellNum(v: number): string {
  const digits = Math.abs(v) >= 10 ? 0 : 1;
  return Math.abs(v) < 0.05 ? num(0, digits) : num(v, digits);
}

function barCell(v: number, max: number, click: { ctx: ViewCtx; part: Intervention; key: string } | undefined, label: string): HTMLElement {
  const fill = el('span', { class: `dla-fill ${v >= 0 ? 'up' : 'down'}` });
  const w = (Math.abs(v) / max) * 50;
  fill.style.width = `${w}%`;
  if (v >= 0) fill.style.left = '50%';
  else fill.style.right = '50%';
  const track = el('span', { class: 'dla-track' }, el('span', { class: 'dla-axis' }), fill);
  const value = el('span', { class: 'num' }, signed(v));
  if (!click) return el('span', { class: 'dla-cell', title: label }, track, value);
  const s = click.ctx.s;
  const off = isOff(click.ctx, click.part);
  const blocked = partBlocked(click.ctx, click.part.kind);
  const say = off ? s['why.isOff'] : (blocked ?? s['why.pressToSwitchOff']);
  const b = el(
    'button',
    { type: 'button', class: `dla-cell${off ? ' off' : ''}`, 'data-key': click.key, 'aria-pressed': String(off), 'aria-label': `${label} · ${say}`, title: `${label}\n${off ? s['why.isOffClick'] : say}` },
    track,
    off ? el('span', { class: 'num off-label' }, s['why.offShort']) : value,
  );
  b.disabled = !off && blocked !== undefined;
  b.addEventListener('click', () => toggle(click.ctx, click.part));
  return b;
}

// ---- occlusion ----

function occlusionSection(ctx: ViewCtx, o: PanelOcclusion | undefined): HTMLElement {
  const { s, ui, data } = ctx;
  const sec = el('section', { class: 'why-section' });
  const target = ui.whyTargets[0];
  sec.append(
    el('h2', {}, s['why.occlusionHeading']),
    el('p', { class: 'explain' }, s['why.explainOcclusion']),
    el('p', { class: 'muted small' }, fmt(s['why.occlusionCap'], o?.cap ?? 256)),
  );
  const mine = o && o.position === ui.chosen && o.target === target ? o : undefined;
  const controls = el('div', { class: 'options' });
  if (mine?.running) {
    const bar = el('div', { class: `meter${mine.progress ? '' : ' indeterminate'}`, role: 'progressbar', 'aria-label': s['why.occluding'] });
    if (mine.progress) {
      const f = mine.progress.total > 0 ? mine.progress.done / mine.progress.total : 0;
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', String(mine.progress.total));
      bar.setAttribute('aria-valuenow', String(mine.progress.done));
      const fill = el('span', { class: 'meter-fill' });
      fill.style.width = `${Math.round(f * 100)}%`;
      bar.append(fill);
    } else bar.append(el('span', { class: 'meter-fill' }));
    const cancel = el('button', { type: 'button', class: 'secondary', 'data-key': 'occlude-cancel' }, s['why.cancel']);
    cancel.addEventListener('click', () => vscode.postMessage({ type: 'cancelOcclude' }));
    controls.append(
      el('span', { class: 'muted' }, mine.progress ? fmt(s['why.occludingProgress'], mine.progress.done, mine.progress.total) : s['why.occluding']),
      bar,
      cancel,
    );
  } else {
    const run = el('button', { type: 'button', 'data-key': 'occlude-run' }, mine?.result ? s['why.occludeAgain'] : s['why.occludeRun']);
    run.addEventListener('click', () => vscode.postMessage({ type: 'occlude' }));
    controls.append(run, el('span', { class: 'muted small' }, target ? fmt(s['why.occludeTarget'], tokenLabel({ text: target, bytes: [], partial: false }, 20)) : s['why.occludeTop']));
  }
  sec.append(controls);
  if (mine?.cancelled) sec.append(el('p', { class: 'muted', role: 'status' }, s['why.occlusionCancelled']));
  if (mine?.error) sec.append(el('div', { class: 'notice error', role: 'alert' }, el('p', {}, mine.error)));
  const r = mine?.result;
  if (!r) return sec;

  let max = 1e-9;
  for (const d of r.delta) if (d !== null && Number.isFinite(d)) max = Math.max(max, Math.abs(d));
  const th = theme();
  sec.append(
    el('p', { class: 'facts' }, fmt(s['why.occlusionFor'], tokenLabel({ text: r.target.text, bytes: [], partial: false }, 20), num(r.target.logProb, 2), r.occluded, r.batches, num(r.timings.totalMs, 0))),
  );
  if (r.maskToken) sec.append(el('p', { class: 'muted small' }, fmt(s['why.maskedBy'], predictionLabel(r.maskToken.text, 16))));
  if (r.skipped > 0) sec.append(el('p', { class: 'muted small' }, fmt(s['why.occlusionSkipped'], r.skipped)));
  sec.append(el('div', { class: 'legend-row' }, legend(s['why.deltaLegend'], `+${num(max, 2)}`, `−${num(max, 2)}`, (x) => diverging(th, x * 2 - 1), 200), el('span', { class: 'muted small' }, s['why.deltaHint'])));
  const flow = el('div', { class: 'tokens occlusion', role: 'list', 'aria-label': s['why.occlusionList'] });
  const T = Math.min(r.tokens.length, r.position + 1);
  for (let i = 0; i < T; i++) {
    const t = data.tokens[i] && data.tokens[i].id === r.tokens[i].id ? data.tokens[i] : { text: r.tokens[i].text, bytes: [], partial: false };
    const d = r.delta[i];
    const has = d !== null && Number.isFinite(d);
    const span = el('span', { class: `tok${has ? '' : ' not-occluded'}`, role: 'listitem' });
    for (const p of tokenPieces(t, true)) span.append(p.mark ? el('span', { class: p.esc ? 'esc' : 'ws' }, p.text) : document.createTextNode(p.text));
    const label = `${tokenLabel(t, 30)}: ${has ? fmt(s['why.deltaIs'], signed(d, 3)) : s['why.notOccluded']}`;
    span.title = label;
    span.setAttribute('aria-label', label);
    if (has) {
      // Needed tokens (removing them lowers the log-probability) take the warm colour: the one the eye goes to.
      // A square-root scale: the token just before the prediction often dwarfs the rest, which should still show.
      const cell = diverging(th, -Math.sign(d) * Math.sqrt(Math.abs(d) / max));
      span.style.backgroundColor = css(cell);
      if (contrast(cell, th.fg) < 4.5) {
        span.style.color = css(textOn(cell));
        span.classList.add('on-colour');
      }
    }
    span.addEventListener('click', () => ctx.choose(i));
    flow.append(span);
  }
  flow.append(el('span', { class: 'predict-mark', 'aria-hidden': 'true' }, ' ▸ ', tokenChip(r.target.text)));
  sec.append(flow);
  const ranked = r.delta
    .map((d, i) => ({ d, i }))
    .filter((x) => x.d !== null && Number.isFinite(x.d) && x.i <= r.position)
    .sort((p, q) => p.d - q.d);
  const needed = ranked.filter((x) => x.d < 0).slice(0, 5);
  if (needed.length) {
    // Each needed token with a shortcut: cut the prediction's direct read of it, and see whether that is how it helps.
    const reader = tokenLabel(data.tokens[r.position] ?? { text: r.tokens[r.position].text, bytes: [], partial: false }, 14);
    const row = el('ul', { class: 'needed', 'aria-label': s['why.neededMost'] });
    for (const x of needed) {
      const label = tokenLabel(data.tokens[x.i] ?? { text: r.tokens[x.i].text, bytes: [], partial: false }, 14);
      row.append(el('li', {}, el('span', { class: 'mono' }, label), el('span', { class: 'num' }, signed(x.d)), edgeButton(ctx, { kind: 'edge', from: x.i, to: r.position }, fmt(s['why.cutEdgeTitle'], reader, label), `edge-cut-${x.i}`)));
    }
    sec.append(el('div', { class: 'needed-row' }, el('span', { class: 'muted' }, s['why.neededMost']), row), el('p', { class: 'muted small' }, fmt(s['why.neededCutHint'], reader)));
  }
  sec.append(
    dataTable(
      s.asTable,
      [s.colToken, s['why.colDelta']],
      () => r.tokens.slice(0, T).map((t, i) => [`${i + 1}. ${tokenLabel(data.tokens[i] ?? { text: t.text, bytes: [], partial: false }, 30)}`, Number.isFinite(r.delta[i]) ? signed(r.delta[i], 3) : '—']),
      'why-occlusion-table',
    ),
  );
  return sec;
}


// ---- attention edges ----

/** Why parts of this kind cannot be switched off (edges cut) here, in words for the person; undefined where they can. */
function partBlocked(ctx: ViewCtx, kind: Intervention['kind']): string | undefined {
  const why = ctx.why?.unavailable?.[kind];
  if (why === undefined) return undefined;
  const said = kind === 'edge' ? ctx.s['why.edgesUnavailable'] : ctx.s['why.partUnavailable'];
  return why ? `${said} (${why})` : said;
}

/** Full: nothing more can be switched off, though what is off can still be switched back on. */
function full(ctx: ViewCtx): boolean {
  return ctx.ui.whyInterventions.length >= MAX_INTERVENTIONS;
}

/** A one-click toggle of one edge, pressed while it is cut; like a head cell, a second press restores it. */
function edgeButton(ctx: ViewCtx, part: Intervention & { kind: 'edge' }, name: string, key: string): HTMLElement {
  const { s } = ctx;
  const off = isOff(ctx, part);
  const blocked = partBlocked(ctx, 'edge');
  const b = el(
    'button',
    {
      type: 'button',
      class: `secondary edge-cut${off ? ' off' : ''}`,
      'data-key': key,
      'aria-pressed': String(off),
      'aria-label': name,
      title: blocked ? `${name}\n${blocked}` : off ? `${name}\n${s['why.edgeIsCut']}` : full(ctx) ? `${name}\n${fmt(s['why.interventionsFull'], MAX_INTERVENTIONS)}` : name,
    },
    off ? s['why.offShort'] : s['why.edgeCut'],
  );
  b.disabled = blocked !== undefined || (!off && full(ctx));
  b.addEventListener('click', () => toggle(ctx, part));
  return b;
}

/**
 * "Cut the attention from [reader] to [source] [Cut]": any pair with source <= reader (a token reads itself and what
 * came before it), the reader the chosen token and the source the one before it to start with. The reader comes first,
 * as in the banner and the Attention tab: attention goes from the token that reads to the token it reads.
 */
function edgeSection(ctx: ViewCtx): HTMLElement {
  const { s, ui, data } = ctx;
  const tokens = data.tokens;
  const T = tokens.length;
  const pos = Math.min(Math.max(0, ui.chosen), T - 1);
  if (!edgeDraft || edgeDraft.chosen !== ui.chosen || edgeDraft.to >= T) edgeDraft = { chosen: ui.chosen, to: pos, from: Math.max(0, pos - 1) };
  const pick = edgeDraft;
  const blocked = partBlocked(ctx, 'edge');
  const option = (i: number) => el('option', { value: String(i) }, `${i + 1}. ${tokenLabel(tokens[i], 20)}`);
  const to = el('select', { id: 'why-edge-to', 'data-key': 'why-edge-to', title: s['why.edgeReaderTitle'], 'aria-describedby': 'why-edge-explain' });
  for (let i = 0; i < T; i++) to.append(option(i));
  const from = el('select', { id: 'why-edge-from', 'data-key': 'why-edge-from', title: s['why.edgeSourceTitle'], 'aria-describedby': 'why-edge-explain' });
  const cut = el('button', { type: 'button', 'data-key': 'why-edge-cut' });
  const hint = el('p', { class: 'muted small', role: 'status' });
  // The source list holds only tokens the reader can read (at or before it); the button says what a press will do.
  const fill = () => {
    pick.from = Math.min(pick.from, pick.to);
    from.replaceChildren(...Array.from({ length: pick.to + 1 }, (_, i) => option(i)));
    from.value = String(pick.from);
  };
  const update = () => {
    const part: Intervention = { kind: 'edge', from: pick.from, to: pick.to };
    const off = isOff(ctx, part);
    const name = fmt(s['why.cutEdgeTitle'], tokenLabel(tokens[pick.to], 12), tokenLabel(tokens[pick.from], 12));
    cut.textContent = off ? s['why.edgeRestore'] : s['why.edgeCut'];
    cut.className = off ? 'secondary' : '';
    cut.title = off ? fmt(s['why.switchOn'], interventionLabel(s, part, tokens)) : name;
    cut.disabled = blocked !== undefined || (!off && full(ctx));
    // The run's answer shows far above this control: say here that it is the intervened one now.
    hint.textContent = blocked ?? (off ? s['why.edgeCutDone'] : full(ctx) ? fmt(s['why.interventionsFull'], MAX_INTERVENTIONS) : '');
    hint.hidden = !hint.textContent;
  };
  to.value = String(pick.to);
  fill();
  update();
  to.disabled = from.disabled = blocked !== undefined;
  to.addEventListener('change', () => {
    pick.to = Math.min(Math.max(0, Number(to.value)), T - 1);
    fill();
    update();
  });
  from.addEventListener('change', () => {
    pick.from = Math.min(Math.max(0, Number(from.value)), pick.to);
    update();
  });
  cut.addEventListener('click', () => toggle(ctx, { kind: 'edge', from: pick.from, to: pick.to }));
  return el(
    'section',
    { class: 'why-section why-edge' },
    el('h2', {}, s['why.edgeHeading']),
    el('p', { class: 'explain', id: 'why-edge-explain' }, s['why.explainEdge']),
    el('div', { class: 'options' }, el('label', { for: 'why-edge-to' }, s['why.edgeReaderLabel']), to, el('label', { for: 'why-edge-from' }, s['why.edgeSourceLabel']), from, cut),
    hint,
  );
}
