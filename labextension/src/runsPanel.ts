/**
 * The Runs view of the MLOps sidebar: experiment picker, filter, and a paged
 * runs list readable at Lab's default sidebar width (name, status, start
 * time, key metric; nested runs folded under their parent), selection for Compare.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { timeElement } from './dates';
import { formatNumber, h, replaceChildren, statusBadge } from './elements';
import { RunsModel } from './model';
import { keyMetric, metricsByUse, paramsLine, runRows } from './runList';
import { IRowView } from './tableGroups';
import { IRunRow } from './tokens';

/** How the panel asks the application to open things. */
export interface IRunsActions {
  openRun(runId: string, name: string): void;
  compare(runIds: string[]): void;
  /** Open the Diff view of exactly two runs. */
  diff?(runIds: string[]): void;
  /** Open the main-area runs table of these experiments. */
  openTable?(experimentIds: string[]): void;
}

/** Quote a key for MLflow's order_by when it is not a plain identifier. */
export function orderKey(kind: 'metrics' | 'params', key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key}\``;
}

export class RunsPanel extends Widget {
  constructor(
    readonly model: RunsModel,
    private readonly _actions: IRunsActions
  ) {
    super();
    this.addClass('jp-mlops-runs');
    this.title.label = 'Runs';
    this._experiment = h('select', { className: 'jp-mlops-experiment', title: 'Experiment' });
    this._experiment.addEventListener('change', () =>
      this.model.setExperiment(this._experiment.value || null)
    );
    this._filter = h('input', {
      className: 'jp-mlops-filter jp-mod-styled',
      attrs: {
        type: 'search',
        placeholder: 'filter: metrics.acc > 0.8',
        title: "An MLflow filter (Enter), e.g. metrics.acc > 0.8 and params.model = 'rf'",
        'aria-label': 'MLflow filter'
      }
    });
    this._metric = h('select', {
      className: 'jp-mlops-metric-picker',
      title: 'The metric shown for each run',
      attrs: { 'aria-label': 'Metric shown' }
    });
    this._metricRow = h(
      'label',
      { className: 'jp-mlops-toolbar jp-mlops-metric-row' },
      'Metric shown ',
      this._metric
    );
    this._metric.addEventListener('change', () => {
      this._picked = this._metric.value || null;
      this._render();
    });
    this._filter.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.model.setFilter(this._filter.value);
      }
    });
    this._compare = h('button', { className: 'jp-mlops-button jp-mlops-compare' }, 'Compare');
    this._compare.addEventListener('click', () => this._actions.compare([...this.model.selected]));
    this._diff = h(
      'button',
      { className: 'jp-mlops-button jp-mlops-diff-runs', title: 'What changed between two runs' },
      'Diff'
    );
    this._diff.addEventListener('click', () => this._actions.diff?.([...this.model.selected]));
    const refresh = h('button', { className: 'jp-mlops-button', title: 'Refresh now' }, 'Refresh');
    refresh.addEventListener('click', () => void this.model.poll.refresh());
    this._prev = h('button', { className: 'jp-mlops-button', title: 'Previous page' }, '‹');
    this._prev.addEventListener('click', () => this.model.previousPage());
    this._next = h('button', { className: 'jp-mlops-button', title: 'Next page' }, '›');
    this._next.addEventListener('click', () => this.model.nextPage());
    this._pageLabel = h('span', { className: 'jp-mlops-page' });
    this._error = h('div', { className: 'jp-mlops-error', attrs: { role: 'alert' } });
    this._table = h('div', { className: 'jp-mlops-table-wrap' });
    const table = h(
      'button',
      { className: 'jp-mlops-button jp-mlops-open-table', title: 'Open the runs table' },
      'Table'
    );
    table.addEventListener('click', () => {
      const id = this.model.experimentId;
      this._actions.openTable?.(id ? [id] : []);
    });
    this.node.append(
      h('div', { className: 'jp-mlops-toolbar' }, this._experiment, refresh, table),
      h('div', { className: 'jp-mlops-toolbar' }, this._filter),
      this._metricRow,
      this._error,
      this._table,
      h(
        'div',
        { className: 'jp-mlops-toolbar jp-mlops-footer' },
        this._compare,
        this._diff,
        this._prev,
        this._pageLabel,
        this._next
      )
    );
    this.model.changed.connect(this._render, this);
  }

  protected onAfterShow(msg: Message): void {
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    this.model.setVisible(false);
  }

  dispose(): void {
    this.model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const m = this.model;
    this._renderExperiments();
    if (document.activeElement !== this._filter) {
      this._filter.value = m.filter;
    }
    this._error.textContent = m.error ?? '';
    this._error.hidden = !m.error;
    this._prev.disabled = !m.hasPrevious;
    this._next.disabled = !m.hasNext;
    this._pageLabel.textContent = `page ${m.page}`;
    this._compare.disabled = m.selected.size < 2;
    this._compare.textContent = `Compare (${m.selected.size})`;
    this._diff.disabled = m.selected.size !== 2;
    this._diff.hidden = !this._actions.diff;
    replaceChildren(this._table, this._renderTable(m.runs));
  }

  private _renderExperiments(): void {
    const m = this.model;
    const options = m.experiments.map(e => {
      const opt = h('option', { attrs: { value: e.experiment_id } }, e.name);
      opt.selected = e.experiment_id === m.experimentId;
      return opt;
    });
    if (options.length === 0) {
      options.push(h('option', { attrs: { value: '' } }, '(no experiments yet)'));
    }
    replaceChildren(this._experiment, ...options);
  }

  private _renderTable(runs: IRunRow[]): HTMLElement {
    if (runs.length === 0) {
      const hint = this.model.filter
        ? 'No run matches the filter.'
        : 'No runs yet: log one with %mlops log acc=0.9';
      this._renderMetricPicker([], null);
      return h('p', { className: 'jp-mlops-empty' }, this.model.loading ? 'Loading…' : hint);
    }
    const metric = keyMetric(runs, this.model.orderBy, this._picked);
    this._renderMetricPicker(metricsByUse(runs), metric);
    const header = h(
      'tr',
      {},
      h('th', { className: 'jp-mlops-check' }, ''),
      this._sortHeader('Run', 'attributes.run_name'),
      metric
        ? this._sortHeader(metric, orderKey('metrics', metric), 'jp-mlops-num jp-mlops-key-metric')
        : h('th', {}, '')
    );
    const body = runRows(runs, this._expanded).map(view =>
      this._renderRow(runs[view.index], view, metric)
    );
    return h(
      'table',
      { className: 'jp-mlops-table jp-mlops-run-list' },
      h('thead', {}, header),
      h('tbody', {}, ...body)
    );
  }

  /** The metric shown beside each run: the key metric, or the one the user picks. */
  private _renderMetricPicker(metrics: string[], shown: string | null): void {
    const options = metrics.map(k => {
      const opt = h('option', { attrs: { value: k } }, k);
      opt.selected = k === shown;
      return opt;
    });
    replaceChildren(this._metric, ...options);
    this._metricRow.hidden = metrics.length < 2;
  }

  private _sortHeader(label: string, column: string, className = ''): HTMLElement {
    const [current, direction] = this.model.orderBy.split(' ');
    const arrow = current === column ? (direction === 'ASC' ? ' ▲' : ' ▼') : '';
    const th = h(
      'th',
      { className: `jp-mlops-sortable ${className}`, title: `Sort by ${column}` },
      label + arrow
    );
    th.addEventListener('click', () => this.model.sortBy(column));
    return th;
  }

  private _renderRow(run: IRunRow, view: IRowView, metric: string | null): HTMLElement {
    const box = h('input', { attrs: { type: 'checkbox', 'aria-label': 'select for compare' } });
    box.checked = this.model.selected.has(run.run_id);
    box.addEventListener('click', event => {
      event.stopPropagation();
      this.model.toggleSelected(run.run_id);
    });
    const params = paramsLine(run.params);
    const row = h(
      'tr',
      {
        className: `jp-mlops-run${view.depth ? ' jp-mlops-nested' : ''}`,
        attrs: { 'data-run-id': run.run_id, 'data-depth': String(view.depth) }
      },
      h('td', { className: 'jp-mlops-check' }, box),
      h(
        'td',
        { className: 'jp-mlops-run-cell' },
        h(
          'div',
          { className: 'jp-mlops-run-line' },
          this._toggle(run, view),
          h(
            'span',
            { className: 'jp-mlops-run-name', title: `${run.name}\n${run.run_id}` },
            run.name || run.run_id.slice(0, 8)
          ),
          view.childCount
            ? h('span', { className: 'jp-mlops-child-count' }, ` (${view.childCount})`)
            : null
        ),
        h(
          'div',
          { className: 'jp-mlops-run-sub' },
          statusBadge(run.status),
          timeElement(run.start_time),
          params ? h('span', { className: 'jp-mlops-run-params', title: params }, params) : null
        )
      ),
      h(
        'td',
        { className: 'jp-mlops-num jp-mlops-key-value', title: metric ?? '' },
        metric ? formatNumber(run.metrics[metric]) : ''
      )
    );
    const cell = row.querySelector<HTMLElement>('.jp-mlops-run-cell')!;
    cell.style.paddingLeft = `${4 + view.depth * 14}px`;
    row.addEventListener('click', () => this._actions.openRun(run.run_id, run.name));
    return row;
  }

  private _toggle(run: IRunRow, view: IRowView): HTMLElement {
    if (!view.childCount) {
      return h('span', { className: 'jp-mlops-toggle-space' });
    }
    const toggle = h(
      'button',
      {
        className: 'jp-mlops-toggle',
        title: `${view.expanded ? 'Collapse' : 'Expand'} ${view.childCount} nested runs`,
        attrs: { 'aria-expanded': String(view.expanded) }
      },
      view.expanded ? '▾' : '▸'
    );
    toggle.addEventListener('click', event => {
      event.stopPropagation();
      if (!this._expanded.delete(run.run_id)) {
        this._expanded.add(run.run_id);
      }
      this._render();
    });
    return toggle;
  }

  private _experiment: HTMLSelectElement;
  private _filter: HTMLInputElement;
  private _compare: HTMLButtonElement;
  private _diff: HTMLButtonElement;
  private _prev: HTMLButtonElement;
  private _next: HTMLButtonElement;
  private _pageLabel: HTMLSpanElement;
  private _error: HTMLDivElement;
  private _table: HTMLDivElement;
  private _metric: HTMLSelectElement;
  private _metricRow: HTMLLabelElement;
  private _picked: string | null = null;
  private _expanded = new Set<string>();
}
