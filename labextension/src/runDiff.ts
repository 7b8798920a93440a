/**
 * The main-area Diff view of two runs: tabs Code / Params & metrics / Data /
 * Environment over one `GET run-diff` answer.  Code cells are shown side by
 * side with changed lines marked; every user text goes through `textContent`.
 */
import { Widget } from '@lumino/widgets';

import { lineChart } from './charts';
import { IRunDiff, IRunDiffSource, ICellChange } from './diffTokens';
import { formatNumber, h, replaceChildren } from './elements';
import { sideBySide } from './lineDiff';

export const DIFF_TABS = ['Code', 'Params & metrics', 'Data', 'Environment'] as const;

function show(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

function table(head: string[], rows: (string | Node)[][], className = ''): HTMLElement {
  return h(
    'table',
    { className: `jp-mlops-table jp-mlops-rundiff-table ${className}`.trim() },
    h('thead', {}, h('tr', {}, ...head.map(c => h('th', {}, c)))),
    h('tbody', {}, ...rows.map(r => h('tr', {}, ...r.map(c => h('td', {}, c)))))
  );
}

function position(index: number | null): string {
  return index === null ? '—' : String(index + 1);
}

/** One changed cell: a heading and both sources side by side, changed lines marked. */
export function cellView(cell: ICellChange): HTMLElement {
  const title = `${cell.kind} ${cell.cell_type} cell a[${position(cell.a_index)}] → b[${position(cell.b_index)}]`;
  const head = h('div', { className: 'jp-mlops-rundiff-cellhead' }, title);
  const box = h(
    'div',
    {
      className: `jp-mlops-rundiff-cell jp-mlops-rundiff-${cell.kind}`,
      attrs: { 'data-kind': cell.kind }
    },
    head
  );
  if (cell.kind === 'moved') {
    return box;
  }
  let na = 0;
  let nb = 0;
  const rows = sideBySide(cell.a_source ?? '', cell.b_source ?? '').map(row => {
    const left = row.left !== null ? String(++na) : '';
    const right = row.right !== null ? String(++nb) : '';
    const lc = row.kind === 'same' || row.left === null ? '' : 'jp-mlops-rundiff-del';
    const rc = row.kind === 'same' || row.right === null ? '' : 'jp-mlops-rundiff-ins';
    return h(
      'tr',
      { attrs: { 'data-row': row.kind } },
      h('td', { className: 'jp-mlops-rundiff-ln' }, left),
      h('td', { className: `jp-mlops-rundiff-code ${lc}`.trim() }, row.left ?? ''),
      h('td', { className: 'jp-mlops-rundiff-ln' }, right),
      h('td', { className: `jp-mlops-rundiff-code ${rc}`.trim() }, row.right ?? '')
    );
  });
  box.append(h('table', { className: 'jp-mlops-rundiff-sbs' }, h('tbody', {}, ...rows)));
  return box;
}

function codeTab(d: IRunDiff): HTMLElement[] {
  if (!d.code) {
    return [
      h('p', { className: 'jp-mlops-rundiff-note' }, 'Code not compared (see the notes above).')
    ];
  }
  const counts: Record<string, number> = {};
  for (const c of d.code.cells) {
    counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  }
  const summary = Object.entries({ ...counts, unchanged: d.code.unchanged })
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const out: HTMLElement[] = [
    h('p', { className: 'jp-mlops-rundiff-summary' }, summary || 'no cells')
  ];
  const params = Object.entries(d.code.parameters);
  if (params.length) {
    out.push(
      h('h4', {}, 'Injected parameters'),
      table(
        ['parameter', 'a', 'b'],
        params.map(([k, [a, b]]) => [k, show(a), show(b)])
      )
    );
  }
  for (const cell of d.code.cells) {
    if (cell.kind !== 'unchanged') {
      out.push(cellView(cell));
    }
  }
  return out;
}

function valuesTab(d: IRunDiff): HTMLElement[] {
  const out: HTMLElement[] = [h('h4', {}, 'Params')];
  out.push(
    d.params === null
      ? h('p', { className: 'jp-mlops-rundiff-note' }, 'not compared')
      : d.params.length
        ? table(
            ['param', 'a', 'b'],
            d.params.map(r => [r.key, show(r.a), show(r.b)])
          )
        : h('p', {}, 'no differences')
  );
  out.push(h('h4', {}, 'Metrics'));
  if (d.metrics === null) {
    out.push(h('p', { className: 'jp-mlops-rundiff-note' }, 'not compared'));
    return out;
  }
  out.push(
    d.metrics.length
      ? table(
          ['metric', 'a', 'b', 'b − a', 'b / a'],
          d.metrics.map(r => [r.key, show(r.a), show(r.b), show(r.difference), show(r.ratio)])
        )
      : h('p', {}, 'no differences')
  );
  const curves = d.metrics
    .filter(r => r.history)
    .map(r =>
      lineChart(r.key, [
        {
          label: 'a',
          points: r.history!.a.map(([step, value]) => ({ step, value, timestamp: 0 }))
        },
        { label: 'b', points: r.history!.b.map(([step, value]) => ({ step, value, timestamp: 0 })) }
      ])
    );
  if (curves.length) {
    out.push(h('div', { className: 'jp-mlops-charts' }, ...curves));
  }
  return out;
}

function dataTab(d: IRunDiff): HTMLElement[] {
  if (d.data === null) {
    return [h('p', { className: 'jp-mlops-rundiff-note' }, 'not compared')];
  }
  if (!d.data.length) {
    return [h('p', {}, 'The same input snapshots.')];
  }
  const rows = d.data.map(r => {
    const rowsOf = r.summary?.rows;
    const what = r.same
      ? 'same digest'
      : rowsOf
        ? `rows ${rowsOf.a} → ${rowsOf.b}: +${rowsOf.added} −${rowsOf.removed} ~${rowsOf.changed}` +
          (r.summary?.drifted?.length ? `; drifted: ${r.summary.drifted.join(', ')}` : '')
        : (r.error ?? 'different digest');
    return [r.name, show(r.a?.ref ?? r.a?.digest), show(r.b?.ref ?? r.b?.digest), what];
  });
  return [table(['input', 'a', 'b', 'difference'], rows)];
}

function envTab(d: IRunDiff): HTMLElement[] {
  if (d.env === null) {
    return [h('p', { className: 'jp-mlops-rundiff-note' }, 'not compared')];
  }
  const { fields, packages } = d.env;
  const rows: string[][] = Object.entries(fields).map(([k, [a, b]]) => [k, show(a), show(b)]);
  rows.push(...Object.entries(packages.added).map(([n, v]) => [n, '—', v]));
  rows.push(...Object.entries(packages.removed).map(([n, v]) => [n, v, '—']));
  rows.push(...Object.entries(packages.changed).map(([n, [a, b]]) => [n, a, b]));
  return rows.length ? [table(['', 'a', 'b'], rows)] : [h('p', {}, 'The same environment.')];
}

export class RunDiffWidget extends Widget {
  constructor(
    private readonly _source: IRunDiffSource,
    readonly a: string,
    readonly b: string
  ) {
    super();
    this.id = `jp-mlops-rundiff-${a.slice(0, 12)}-${b.slice(0, 12)}`;
    this.addClass('jp-mlops-rundiff');
    this.title.label = `Diff ${a.slice(0, 8)} ↔ ${b.slice(0, 8)}`;
    this.title.closable = true;
    this.node.append(h('div', { className: 'jp-mlops-rundiff-loading' }, 'Comparing…'));
  }

  /** The diff once shown (for tests and timing). */
  diff: IRunDiff | null = null;

  async load(): Promise<void> {
    try {
      const asked = performance.now();
      this.diff = await this._source.runDiff(this.a, this.b);
      const answered = performance.now();
      this._render(this.diff);
      // how long the answer and the drawing took (browser tests report them)
      this.node.dataset.fetchMs = (answered - asked).toFixed(0);
      this.node.dataset.renderMs = (performance.now() - answered).toFixed(0);
    } catch (error) {
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _render(d: IRunDiff): void {
    this.title.label = `Diff ${d.a.label} ↔ ${d.b.label}`;
    const bodies = [codeTab(d), valuesTab(d), dataTab(d), envTab(d)];
    const panels = bodies.map((children, i) =>
      h(
        'div',
        {
          className: 'jp-mlops-rundiff-panel',
          attrs: { role: 'tabpanel', 'data-tab': DIFF_TABS[i] }
        },
        ...children
      )
    );
    const tabs = DIFF_TABS.map((label, i) => {
      const tab = h('button', { className: 'jp-mlops-rundiff-tab', attrs: { role: 'tab' } }, label);
      tab.addEventListener('click', () => select(i));
      return tab;
    });
    const select = (i: number) => {
      tabs.forEach((t, k) => {
        t.classList.toggle('jp-mod-current', k === i);
        t.setAttribute('aria-selected', String(k === i));
      });
      panels.forEach((p, k) => (p.hidden = k !== i));
    };
    select(0);
    replaceChildren(
      this.node,
      h(
        'div',
        { className: 'jp-mlops-rundiff-head' },
        h('span', { className: 'jp-mlops-rundiff-side' }, 'a ', h('b', {}, d.a.label)),
        h('span', { className: 'jp-mlops-rundiff-side' }, 'b ', h('b', {}, d.b.label))
      ),
      ...d.missing.map(m => h('p', { className: 'jp-mlops-rundiff-note' }, m)),
      h('div', { className: 'jp-mlops-rundiff-tabs', attrs: { role: 'tablist' } }, ...tabs),
      ...panels
    );
    this.node.dataset.ready = 'true';
  }
}
