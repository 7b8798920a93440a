/**
 * The Runs view of the MLOps sidebar: experiment picker, filter, sortable and
 * paged runs table with status badges, selection for Compare.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  formatDuration,
  formatNumber,
  formatTime,
  h,
  replaceChildren,
  statusBadge
} from './elements';
import { RunsModel } from './model';
import { IRunRow } from './tokens';

/** How the panel asks the application to open things. */
export interface IRunsActions {
  openRun(runId: string, name: string): void;
  compare(runIds: string[]): void;
  /** Open the main-area runs table of these experiments. */
  openTable?(experimentIds: string[]): void;
}

const MAX_METRIC_COLUMNS = 6;
const MAX_PARAM_COLUMNS = 4;

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
        placeholder: "filter, e.g. metrics.acc > 0.8 and params.model = 'rf'"
      }
    });
    this._filter.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.model.setFilter(this._filter.value);
      }
    });
    this._compare = h('button', { className: 'jp-mlops-button jp-mlops-compare' }, 'Compare');
    this._compare.addEventListener('click', () => this._actions.compare([...this.model.selected]));
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
      this._error,
      this._table,
      h(
        'div',
        { className: 'jp-mlops-toolbar jp-mlops-footer' },
        this._compare,
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
      return h('p', { className: 'jp-mlops-empty' }, this.model.loading ? 'Loading…' : hint);
    }
    const metrics = [...new Set(runs.flatMap(r => Object.keys(r.metrics)))]
      .sort()
      .slice(0, MAX_METRIC_COLUMNS);
    const params = [...new Set(runs.flatMap(r => Object.keys(r.params)))]
      .sort()
      .slice(0, MAX_PARAM_COLUMNS);
    const header = h(
      'tr',
      {},
      h('th', {}, ''),
      this._sortHeader('Run', 'attributes.run_name'),
      this._sortHeader('Status', 'attributes.status'),
      this._sortHeader('Started', 'attributes.start_time'),
      h('th', {}, 'Duration'),
      ...metrics.map(k => this._sortHeader(k, orderKey('metrics', k))),
      ...params.map(k => this._sortHeader(k, orderKey('params', k), 'jp-mlops-param'))
    );
    const body = runs.map(run => this._renderRow(run, metrics, params));
    return h(
      'table',
      { className: 'jp-mlops-table' },
      h('thead', {}, header),
      h('tbody', {}, ...body)
    );
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

  private _renderRow(run: IRunRow, metrics: string[], params: string[]): HTMLElement {
    const box = h('input', { attrs: { type: 'checkbox', 'aria-label': 'select for compare' } });
    box.checked = this.model.selected.has(run.run_id);
    box.addEventListener('click', event => {
      event.stopPropagation();
      this.model.toggleSelected(run.run_id);
    });
    const name = h(
      'td',
      { className: 'jp-mlops-run-name', title: run.run_id },
      run.name || run.run_id.slice(0, 8)
    );
    const row = h(
      'tr',
      { className: 'jp-mlops-run', attrs: { 'data-run-id': run.run_id } },
      h('td', {}, box),
      name,
      h('td', {}, statusBadge(run.status)),
      h('td', {}, formatTime(run.start_time)),
      h('td', {}, formatDuration(run.start_time, run.end_time)),
      ...metrics.map(k => h('td', { className: 'jp-mlops-num' }, formatNumber(run.metrics[k]))),
      ...params.map(k =>
        h('td', { className: 'jp-mlops-param', title: run.params[k] ?? '' }, run.params[k] ?? '')
      )
    );
    row.addEventListener('click', () => this._actions.openRun(run.run_id, run.name));
    return row;
  }

  private _experiment: HTMLSelectElement;
  private _filter: HTMLInputElement;
  private _compare: HTMLButtonElement;
  private _prev: HTMLButtonElement;
  private _next: HTMLButtonElement;
  private _pageLabel: HTMLSpanElement;
  private _error: HTMLDivElement;
  private _table: HTMLDivElement;
}
