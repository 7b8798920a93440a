/**
 * Compare runs side by side: params (rows that differ highlighted), latest
 * metrics, and every shared metric's curves overlaid.
 */
import { Widget } from '@lumino/widgets';

import { lineChart, seriesLegend } from './charts';
import { formatNumber, h, replaceChildren, statusBadge } from './elements';
import { IMlopsSource, IRunDetail, MetricHistory } from './tokens';

/** Keys whose values are not the same in every run (missing counts as different). */
export function differingKeys(maps: Record<string, unknown>[]): Set<string> {
  const keys = new Set(maps.flatMap(m => Object.keys(m)));
  const out = new Set<string>();
  for (const key of keys) {
    const values = new Set(maps.map(m => (key in m ? JSON.stringify(m[key]) : '\u0000missing')));
    if (values.size > 1) {
      out.add(key);
    }
  }
  return out;
}

export class CompareWidget extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    readonly runIds: string[]
  ) {
    super();
    this.id = `jp-mlops-compare-${runIds.join('-').slice(0, 80)}`;
    this.addClass('jp-mlops-compare-view');
    this.title.label = `Compare ${runIds.length} runs`;
    this.title.closable = true;
  }

  async load(): Promise<void> {
    try {
      const runs = await Promise.all(this.runIds.map(id => this._source.run(id)));
      const histories = await Promise.all(this.runIds.map(id => this._source.metricHistory(id)));
      this._render(runs, histories);
    } catch (error) {
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _render(runs: IRunDetail[], histories: MetricHistory[]): void {
    const header = h(
      'tr',
      {},
      h('th', {}, ''),
      ...runs.map(r => h('th', { title: r.run_id }, r.name || r.run_id.slice(0, 8)))
    );
    const status = h(
      'tr',
      {},
      h('th', {}, 'status'),
      ...runs.map(r => h('td', {}, statusBadge(r.status)))
    );
    const section = (title: string, maps: Record<string, string>[]) => {
      const diff = differingKeys(maps);
      const keys = [...new Set(maps.flatMap(m => Object.keys(m)))].sort();
      const rows = keys.map(k =>
        h(
          'tr',
          { className: diff.has(k) ? 'jp-mlops-diff' : '', attrs: { 'data-key': k } },
          h('th', { title: k }, k),
          ...maps.map(m => h('td', { title: m[k] ?? '' }, m[k] ?? '—'))
        )
      );
      return [
        h(
          'tr',
          { className: 'jp-mlops-section-row' },
          h('th', { attrs: { colspan: String(runs.length + 1) } }, title)
        ),
        ...rows
      ];
    };
    const params = runs.map(r => r.params);
    const metrics = runs.map(r =>
      Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, formatNumber(v)]))
    );
    const table = h(
      'table',
      { className: 'jp-mlops-table jp-mlops-compare-table' },
      h('thead', {}, header),
      h('tbody', {}, status, ...section('Parameters', params), ...section('Metrics', metrics))
    );
    const keys = [...new Set(histories.flatMap(hist => Object.keys(hist)))].sort();
    const labels = runs.map(r => r.name || r.run_id.slice(0, 8));
    // One colour key for every chart (the same run has the same colour in each).
    const charts = keys.map(key =>
      lineChart(
        key,
        runs.map((r, i) => ({ label: labels[i], points: histories[i][key] ?? [] })),
        { legend: false }
      )
    );
    replaceChildren(
      this.node,
      h('h2', {}, `Comparing ${runs.length} runs`),
      table,
      charts.length && runs.length > 1 ? seriesLegend(labels) : null,
      h('div', { className: 'jp-mlops-charts' }, ...charts)
    );
  }
}
