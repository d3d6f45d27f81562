// The model card: name and source, the shape numbers (d, layers, heads, vocabulary, context),
// where the parameters sit with formulas and shares, what instrumentation found, and the concepts.
import type { ModelCardState } from '../protocol/webview';
import { el } from './dom';
import { byteSize, compact, fmt, num, percent, setLocale } from './format';
import { vscode } from './vscodeApi';

export function renderModelCard(root: HTMLElement, state: ModelCardState): void {
  setLocale(state.locale);
  const s = state.strings;
  document.body.classList.toggle('busy', state.busy);
  const children: HTMLElement[] = [el('div', { class: 'progress', 'aria-hidden': 'true' })];
  if (state.notice) {
    const n = el('div', { class: `notice ${state.notice.kind}`, role: state.notice.kind === 'error' ? 'alert' : 'status' }, el('p', {}, state.notice.message));
    if (state.notice.action) {
      const command = state.notice.action.command;
      const b = el('button', { type: 'button' }, state.notice.action.label);
      b.addEventListener('click', () => vscode.postMessage({ type: 'command', command }));
      n.append(b);
    }
    children.push(n);
  }
  const card = state.card;
  if (!card) {
    if (!state.notice) children.push(el('p', { class: 'explain' }, s.loading));
    root.replaceChildren(...children);
    return;
  }
  const { spec, parameters: p } = card;

  children.push(
    el('h1', {}, spec.name),
    el('p', { class: 'muted' }, fmt(s.sourceLine, spec.source, spec.modelType, byteSize(spec.fileBytes))),
    el('p', { class: 'explain' }, fmt(s.intro, compact(p.total), spec.dModel, spec.nLayer)),
  );

  // Shape
  // Grouped-query models: the heads are query heads, and a tile says how many key/value heads they share.
  const grouped = spec.nKvHeads > 0 && spec.nKvHeads < spec.nHead;
  const width = spec.nHead * spec.headDim;
  const tiles: [string, string, string][] = [
    [s.dModel, num(spec.dModel), s.dModelHint],
    [s.layers, num(spec.nLayer), s.layersHint],
    [grouped ? s.queryHeads : s.heads, num(spec.nHead), fmt(s.headsHint, spec.headDim)],
    ...(grouped ? [[s.kvHeads, num(spec.nKvHeads), fmt(s.kvHeadsHint, num(spec.nHead / spec.nKvHeads))] as [string, string, string]] : []),
    [s.headDim, num(spec.headDim), width === spec.dModel ? fmt(s.headDimHint, spec.nHead, spec.headDim, spec.dModel) : fmt(s.headDimHintNotD, spec.nHead, spec.headDim, num(width))],
    [s.vocab, num(spec.vocabSize), s.vocabHint],
    [s.context, num(spec.nCtx), s.contextHint],
  ];
  children.push(
    el('h2', {}, s.shapeHeading),
    el('dl', { class: 'tiles' }, ...tiles.map(([k, v, hint]) => el('div', { class: 'tile' }, el('dt', {}, k), el('dd', {}, v), el('p', { class: 'muted small' }, hint)))),
  );

  // Parameters
  const bar = el('div', { class: 'sharebar', role: 'img', 'aria-label': s.sharesLabel });
  const legendList = el('ul', { class: 'share-legend' });
  card.rows.forEach((r, i) => {
    if (r.tied) return;
    const seg = el('span', { class: `seg c${i % 6}`, title: `${s[`part.${r.part}`] ?? r.part}: ${percent(r.share)}` });
    seg.style.width = `${r.share * 100}%`;
    bar.append(seg);
    legendList.append(el('li', {}, el('span', { class: `swatch c${i % 6}` }), `${s[`part.${r.part}`] ?? r.part} ${percent(r.share)}`));
  });
  const table = el('table', { class: 'data params' });
  table.append(
    el(
      'thead',
      {},
      el('tr', {}, ...[s.colPart, s.colFormula, s.colPerLayer, s.colWeights, s.colBiases, s.colTotal, s.colShare].map((h) => el('th', { scope: 'col' }, h))),
    ),
  );
  const body = el('tbody');
  for (const r of card.rows) {
    // Parts as separate spans with plain spaces between: a narrow panel wraps between them, never inside one.
    const formula = el('td', { class: 'formula' }, r.tied ? s.tiedShort : el('span', {}, r.formula ?? '—'));
    if (r.formulaFilled) formula.append(' ', filledFormula(r.formulaFilled, num(r.perLayer ?? r.total)), ' ', el('span', { class: 'ok', title: s.formulaMatches, 'aria-label': s.formulaMatches }, '✓'));
    else if (r.formulaMatches === false) formula.append(el('span', { class: 'muted' }, ` (${s.formulaDiffers})`));
    const perLayer = r.perLayer !== undefined && r.layers !== undefined ? `${num(r.perLayer)} × ${r.layers}` : '—';
    const share = el('td', { class: 'num' });
    const track = el('span', { class: 'track' });
    const fill = el('span', { class: 'bar' });
    fill.style.width = `${r.share * 100}%`;
    track.append(fill);
    share.append(track, el('span', {}, percent(r.share)));
    body.append(
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, s[`part.${r.part}`] ?? r.part),
        formula,
        el('td', { class: 'num' }, perLayer),
        el('td', { class: 'num' }, num(r.weights)),
        el('td', { class: 'num' }, num(r.biases)),
        el('td', { class: 'num' }, num(r.total)),
        share,
      ),
    );
  }
  body.append(
    el(
      'tr',
      { class: 'total' },
      el('th', { scope: 'row' }, s.total),
      el('td', {}, ''),
      el('td', {}, ''),
      el('td', { class: 'num' }, num(p.weights)),
      el('td', { class: 'num' }, num(p.biases)),
      el('td', { class: 'num' }, num(p.total)),
      el('td', { class: 'num' }, percent(1, 0)),
    ),
  );
  table.append(body);
  children.push(
    el('h2', {}, fmt(s.parametersHeading, num(p.total), compact(p.total))),
    el('p', { class: 'explain' }, spec.architecture === 'llama' ? s.parametersIntroLlama : s.parametersIntro),
    bar,
    legendList,
    el('div', { class: 'scroll-x' }, table),
  );
  if (card.total) {
    const line = el('p', { class: 'formula-line' }, el('span', { class: 'muted' }, `${s.wholeModel} `), el('span', { class: 'mono' }, `${card.total.formula} = ${num(p.total)}`));
    if (card.total.matches) line.append(el('span', { class: 'ok', title: s.formulaMatches, 'aria-label': s.formulaMatches }, ' ✓'));
    children.push(line);
  }
  children.push(el('p', { class: 'muted small' }, p.tiedLmHead ? s.tiedNote : s.untiedNote));
  if (card.constantsNote) children.push(el('p', { class: 'muted small' }, card.constantsNote));

  // What instrumentation found
  const found = el('table', { class: 'kv' });
  for (const [k, v] of card.found) found.append(el('tr', {}, el('th', {}, k), el('td', {}, v)));
  children.push(el('h2', {}, s.instrumentationHeading), el('p', { class: 'explain' }, s.instrumentationIntro), found);
  if (card.missing.length) {
    children.push(el('p', {}, s.missingLead), el('ul', { class: 'missing' }, ...card.missing.map((m) => el('li', {}, m))));
  } else {
    children.push(el('p', { class: 'muted' }, s.nothingMissing));
  }

  // Concepts
  children.push(el('h2', {}, s.conceptsHeading));
  for (const c of card.concepts) children.push(el('h3', {}, c.title), el('p', { class: 'explain' }, c.text));

  const refresh = el('button', { type: 'button', class: 'secondary' }, s.analyzeSelection);
  refresh.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'analyzeSelection' }));
  children.push(refresh);
  root.replaceChildren(...children);
}

/**
 * "= terms = value", breakable after each top-level "+" (a term is kept whole): a qwen2 attention formula filled with
 * its numbers is some 70 characters, wider than the column in a narrow panel or with Portuguese headings.
 */
function filledFormula(filled: string, value: string): HTMLElement {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < filled.length; i++) {
    const c = filled[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && filled.startsWith(' + ', i)) {
      terms.push(filled.slice(start, i));
      start = i + 3;
    }
  }
  terms.push(filled.slice(start));
  const parts = terms.map((t, i) => el('span', {}, `${i === 0 ? '= ' : ''}${t}${i < terms.length - 1 ? ' +' : ''}`));
  const out = el('span', { class: 'muted filled' });
  for (const p of parts) out.append(p, ' ');
  out.append(el('span', {}, `= ${value}`));
  return out;
}
