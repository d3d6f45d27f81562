// Tokens tab: the text as coloured token spans with whitespace made visible, ids on demand,
// partial UTF-8 as bytes, counts, and an optional surprisal colouring with its legend.
import { el } from './dom';
import { fmt, num, tokenLabel, tokenPieces } from './format';
import { legend } from './canvas';
import { contrast, css, sequential, textOn, theme } from './theme';
import type { ViewCtx } from './viewContext';

/** Surprisal (bits) of each token given the ones before it; the first token has none. */
export function surprisals(ctx: ViewCtx): (number | undefined)[] {
  return ctx.data.tokens.map((_, i) => (i > 0 ? ctx.data.predictions[i - 1]?.actual?.surprisalBits : undefined));
}

/** The top of the surprisal scale: the 95th percentile, between 8 and 24 bits, rounded up. */
export function surprisalMax(values: (number | undefined)[]): number {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return 8;
  return Math.min(24, Math.max(8, Math.ceil(v[Math.floor((v.length - 1) * 0.95)])));
}

export function renderTokens(ctx: ViewCtx): HTMLElement {
  const { data, ui, s } = ctx;
  const T = data.tokens.length;
  const chars = Array.from(data.text).length;
  const counts = el(
    'dl',
    { class: 'counts' },
    el('div', {}, el('dt', {}, s.countTokens), el('dd', {}, num(T))),
    el('div', {}, el('dt', {}, s.countChars), el('dd', {}, num(chars))),
    el('div', {}, el('dt', {}, s.countCharsPerToken), el('dd', {}, num(chars / Math.max(1, T), 2))),
  );

  const ids = el('input', { type: 'checkbox', id: 'show-ids', 'data-key': 'show-ids' });
  ids.checked = ui.showIds;
  ids.addEventListener('change', () => ctx.setUi({ showIds: ids.checked }));
  const colour = el('select', { id: 'colour-by', 'data-key': 'colour-by' }, el('option', { value: 'token' }, s.colourByToken), el('option', { value: 'surprisal' }, s.colourBySurprisal));
  colour.value = ui.colorBy;
  colour.addEventListener('change', () => ctx.setUi({ colorBy: colour.value === 'surprisal' ? 'surprisal' : 'token' }));
  const options = el('div', { class: 'options' }, el('label', {}, ids, ` ${s.showIds}`), el('label', { for: 'colour-by' }, s.colourBy), colour);

  const th = theme();
  const sur = surprisals(ctx);
  const max = surprisalMax(sur);
  const flow = el('div', {
    class: `tokens${ui.showIds ? ' with-ids' : ''}${ui.colorBy === 'surprisal' ? ' by-surprisal' : ''}`,
    role: 'listbox',
    tabindex: '0',
    'aria-label': s.tokensList,
    'aria-activedescendant': `tok-${ui.chosen}`,
    'data-key': 'tokens',
  });
  for (let i = 0; i < T; i++) {
    const t = data.tokens[i];
    const span = el('span', { class: `tok c${i % 6}${t.partial ? ' partial' : ''}${i === ui.chosen ? ' chosen' : ''}`, id: `tok-${i}`, role: 'option', 'aria-selected': String(i === ui.chosen) });
    const pieces = tokenPieces(t, true);
    // A token that ends a line shows its id before the break, not at the start of the next line.
    const idAt = pieces.length > 0 && !pieces[pieces.length - 1].mark && pieces[pieces.length - 1].text.endsWith('\n') ? pieces.length - 1 : pieces.length;
    pieces.forEach((p, k) => {
      if (ui.showIds && k === idAt) span.append(el('span', { class: 'id' }, String(t.id)));
      span.append(p.mark ? el('span', { class: p.esc ? 'esc' : 'ws' }, p.text) : document.createTextNode(p.text));
    });
    if (ui.showIds) {
      if (idAt === pieces.length) span.append(el('span', { class: 'id' }, String(t.id)));
      // One box with its id (break-all let a line end between a token and its id); a token holding a line break
      // stays inline, so the break still ends the line.
      if (!t.text.includes('\n')) span.classList.add('atomic');
    }
    const bits = sur[i];
    if (ui.colorBy === 'surprisal' && bits !== undefined) {
      const cell = sequential(th, th.hot, bits / max);
      span.style.backgroundColor = css(cell);
      // Strong cells get black or white text, whichever contrasts more; weak ones keep the theme's.
      if (contrast(cell, th.fg) < 4.5) {
        span.style.color = css(textOn(cell));
        span.classList.add('on-colour');
      }
    }
    const label = [tokenLabel(t, 40), fmt(s.idIs, t.id), bits === undefined ? '' : fmt(s.bits, num(bits, 1))].filter(Boolean).join(', ');
    span.setAttribute('aria-label', label);
    span.title = t.partial ? `${label}\n${s.partialUtf8}` : label;
    span.addEventListener('click', () => ctx.choose(i));
    flow.append(span);
  }
  ctx.tokenKeys(flow);
  // Keep the chosen token on screen when it moves by keyboard.
  requestAnimationFrame(() => document.getElementById(`tok-${ui.chosen}`)?.scrollIntoView({ block: 'nearest' }));

  const parts: HTMLElement[] = [el('p', { class: 'explain' }, s['explain.tokens']), counts, options];
  if (ui.colorBy === 'surprisal') {
    parts.push(el('div', { class: 'legend-row' }, legend(s.surprisalLegend, fmt(s.bits, 0), fmt(s.bits, max), (x) => sequential(th, th.hot, x)), el('span', { class: 'muted' }, s.surprisalHint)));
  }
  parts.push(flow, el('p', { class: 'muted small' }, s.markersHint));
  return el('div', {}, ...parts);
}
