/**
 * Building DOM safely: every piece of user text goes through `textContent`,
 * never through HTML parsing, so run names, params and tags cannot inject markup.
 */

export type Child = Node | string | null | undefined | false;

/** Create `<tag>` with classes, attributes and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; title?: string; attrs?: Record<string, string> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className) {
    el.className = props.className;
  }
  if (props.title !== undefined) {
    el.title = props.title;
  }
  for (const [key, value] of Object.entries(props.attrs ?? {})) {
    el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Replace every child of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  while (el.firstChild) {
    el.removeChild(el.firstChild);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** A table's `<thead>` naming its columns. */
export function headRow(labels: string[]): HTMLElement {
  return h('thead', {}, h('tr', {}, ...labels.map(label => h('th', {}, label))));
}

/** A status badge (`FINISHED`, `RUNNING`, ...), coloured by CSS class. */
export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { className: `jp-mlops-badge jp-mlops-badge-${status.toLowerCase()}`, title: status },
    status
  );
}

/** Format a metric value compactly. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toPrecision(4);
}

/** Human duration between two epoch-millisecond times. */
export function formatDuration(start: number, end: number | null): string {
  if (!end) {
    return '';
  }
  const s = Math.max(0, (end - start) / 1000);
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A two-column key/value table; `highlight` marks rows whose key is in it. */
export function keyValueTable(
  rows: [string, string][],
  empty: string,
  highlight: ReadonlySet<string> = new Set()
): HTMLElement {
  if (rows.length === 0) {
    return h('p', { className: 'jp-mlops-empty' }, empty);
  }
  return h(
    'table',
    { className: 'jp-mlops-kv' },
    h(
      'tbody',
      {},
      ...rows.map(([k, v]) =>
        h(
          'tr',
          { className: highlight.has(k) ? 'jp-mlops-diff' : '' },
          h('th', { title: k }, k),
          h('td', { title: v }, v)
        )
      )
    )
  );
}
