// Layers tab: what each layer does to the chosen token's vector (norm, change, logit-lens top-5),
// the vector itself layer by layer, and a token x layer heatmap of change for the whole text.
import { el } from './dom';
import { fmt, num, prob, predictionLabel, tokenLabel } from './format';
import { decode } from './grid';
import { legend } from './canvas';
import { robustMax, rowHeatmap } from './heatmap';
import { sparseLabels } from './embeddingsView';
import { dataTable } from './table';
import { diverging, sequential, theme } from './theme';
import type { ViewCtx } from './viewContext';

export function renderLayers(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const th = theme();
  const t = ui.chosen;
  const L = data.model.nLayer;
  const T = data.tokens.length;
  const nextId = data.tokens[t + 1]?.id;

  // Per layer, for the chosen token.
  const norms = data.hiddenNorms.map((row) => row[t] ?? 0);
  const maxNorm = Math.max(...norms, 1e-9);
  const changes = data.layerCosine.map((row) => 1 - (row[t] ?? 1));
  const maxChange = Math.max(...changes, 1e-9);
  const table = el('table', { class: 'layers' });
  table.append(el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, s.colStage), el('th', { scope: 'col' }, s.colNorm), el('th', { scope: 'col' }, s.colChange), el('th', { scope: 'col' }, s.colLogitLens))));
  const body = el('tbody');
  for (let l = 0; l <= L; l++) {
    const stage = l === 0 ? s.stageInput : l === L ? fmt(s.stageLast, l - 1) : fmt(s.stageAfter, l - 1);
    const normBar = el('span', { class: 'bar' });
    normBar.style.width = `${(norms[l] / maxNorm) * 100}%`;
    const normCell = el('td', {}, el('span', { class: 'track' }, normBar), el('span', { class: 'num' }, num(norms[l], 1)));
    let changeCell: HTMLElement;
    if (l === 0) changeCell = el('td', { class: 'muted' }, '—');
    else {
      const ch = changes[l - 1];
      const cos = data.layerCosine[l - 1]?.[t] ?? 1;
      const bar = el('span', { class: 'bar change' });
      bar.style.width = `${(ch / maxChange) * 100}%`;
      changeCell = el('td', { title: fmt(s.cosineIs, num(cos, 3)) }, el('span', { class: 'track' }, bar), el('span', { class: 'num' }, num(cos, 3)));
    }
    const lens = el('td', { class: 'lens' });
    const top = data.logitLens[l]?.[t] ?? [];
    // The lens of layers before the last comes with the chosen token's own analysis (a moment later).
    if (top.length === 0) lens.append(el('span', { class: 'muted' }, data.chosen?.index === t ? '—' : s.updating));
    for (const p of top) {
      const chip = el('span', { class: `pred${p.id === nextId ? ' actual' : ''}`, title: p.id === nextId ? s.actualNext : '' }, `${predictionLabel(p.text, 12)} ${prob(p.prob)}`);
      lens.append(chip);
    }
    body.append(el('tr', {}, el('th', { scope: 'row' }, stage), normCell, changeCell, lens));
  }
  table.append(body);

  const parts: HTMLElement[] = [
    el('p', { class: 'explain' }, s['explain.layers']),
    el('h2', {}, fmt(s.layersForToken, tokenLabel(data.tokens[t], 20))),
    el('p', { class: 'explain' }, s['explain.layerTable']),
    el('div', { class: 'scroll-x' }, table),
  ];

  // The chosen token's vector, layer by layer.
  if (data.chosen && data.chosen.index === t) {
    const Hm = decode(data.chosen.hidden);
    const scale = robustMax(Hm.values);
    const rows = Hm.rows;
    const heat = rowHeatmap({
      owner: data.chosen.hidden,
      key: `hid:${scale}`,
      rows,
      cols: Hm.cols,
      width: ctx.width,
      label: fmt(s.hiddenChart, tokenLabel(data.tokens[t], 20), rows, Hm.cols),
      dataKey: 'hidden-heatmap',
      rowLabel: (r) => (r === 0 ? s.stageInputShort : r === rows - 1 && r === L ? s.stageOutputShort : fmt(s.stageAfterShort, r - 1)),
      color: (r, c) => diverging(th, Hm.at(r, c) / scale),
      tip: (r, c) => fmt(s.hiddenTip, r, c, num(Hm.at(r, c), 3)),
      colLabel: sparseLabels(Hm.cols),
      maxHeight: 18 * rows,
    });
    parts.push(
      el('h2', {}, s.hiddenHeading),
      el('p', { class: 'explain' }, s['explain.hidden']),
      el('div', { class: 'legend-row' }, legend(s.valueLegend, num(-scale, 2), `+${num(scale, 2)}`, (x) => diverging(th, x * 2 - 1))),
      el('div', { class: 'chart' }, heat.canvas),
    );
  } else {
    parts.push(el('h2', {}, s.hiddenHeading), el('p', { class: 'muted' }, s.updating));
  }

  // Change per token and layer.
  let maxAll = 1e-9;
  for (const row of data.layerCosine) for (const v of row) maxAll = Math.max(maxAll, 1 - v);
  const heat = rowHeatmap({
    owner: data.layerCosine,
    key: `chg:${th.version}`,
    rows: T,
    cols: L,
    width: Math.min(ctx.width, 200 + L * 56),
    label: fmt(s.changeChart, T, L),
    dataKey: 'change-heatmap',
    rowLabel: (r) => tokenLabel(data.tokens[r], 14),
    color: (r, c) => sequential(th, th.change, (1 - (data.layerCosine[c]?.[r] ?? 1)) / maxAll),
    tip: (r, c) => fmt(s.changeTip, tokenLabel(data.tokens[r], 24), c, num(data.layerCosine[c]?.[r] ?? 1, 3)),
    chosenRow: t,
    onRow: ctx.choose,
    colLabel: (c) => String(c),
  });
  ctx.tokenKeys(heat.canvas);
  parts.push(
    el('h2', {}, s.changeHeading),
    el('p', { class: 'explain' }, s['explain.change']),
    el('div', { class: 'legend-row' }, legend(s.changeLegend, '0', num(maxAll, 2), (x) => sequential(th, th.change, x), 160), el('span', { class: 'muted' }, s.layersAxis)),
    el('div', { class: 'chart' }, heat.canvas),
    dataTable(
      s.asTable,
      [s.colToken, ...Array.from({ length: L }, (_, l) => fmt(s.layerN, l))],
      () => data.tokens.map((tk, i) => [`${i + 1}. ${tokenLabel(tk, 30)}`, ...Array.from({ length: L }, (_, l) => num(1 - (data.layerCosine[l]?.[i] ?? 1), 3))]),
      'change-table',
    ),
  );
  return el('div', {}, ...parts);
}
