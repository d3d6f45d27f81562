// Text alternatives for the charts: a table a screen reader can read, built when first opened and
// kept open across re-renders.
import { el } from './dom';

const openTables = new Set<string>();

export function dataTable(summary: string, headers: string[], rows: () => string[][], dataKey: string): HTMLElement {
  const details = el('details', { class: 'alt' });
  details.append(el('summary', { 'data-key': dataKey }, summary));
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    const table = el('table', { class: 'data' });
    table.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))));
    const body = el('tbody');
    for (const r of rows()) body.append(el('tr', {}, ...r.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c)))));
    table.append(body);
    details.append(table);
  };
  if (openTables.has(dataKey)) {
    details.open = true;
    build();
  }
  details.addEventListener('toggle', () => {
    if (details.open) {
      openTables.add(dataKey);
      build();
    } else openTables.delete(dataKey);
  });
  return details;
}
