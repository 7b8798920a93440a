/**
 * The main-area runs view of one or more experiments: toolbar (MLflow filter,
 * column picker, Compare), the virtualized runs table, parallel coordinates and
 * a scatter.  Brushing the parallel coordinates filters the table.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { ParallelCoordinates } from './parcoords';
import { columnLabel } from './plotCanvas';
import { RunsGrid } from './runsGrid';
import { ScatterPlot } from './scatter';
import { Change, RunsTableModel } from './tableModel';

/** How the view asks the application to open things. */
export interface IRunsViewActions {
  openRun(runId: string, name: string): void;
  compare(runIds: string[]): void;
  /** Open the Diff view of exactly two runs. */
  diff?(runIds: string[]): void;
}

export class RunsTableView extends Widget {
  constructor(
    readonly model: RunsTableModel,
    private readonly _actions: IRunsViewActions,
    label: string
  ) {
    super();
    this._opened = performance.now();
    this.id = `jp-mlops-runs-table-${model.experimentIds.join('-')}`;
    this.addClass('jp-mlops-runs-view');
    this.title.label = `Runs: ${label}`;
    this.title.closable = true;
    this._grid = new RunsGrid(model, _actions);
    this._parcoords = new ParallelCoordinates(model);
    this._scatter = new ScatterPlot(model, _actions.openRun);
    this._filter = h('input', {
      className: 'jp-mlops-filter jp-mod-styled',
      attrs: {
        type: 'search',
        'aria-label': 'MLflow filter',
        placeholder: "filter, e.g. metrics.acc > 0.8 and params.model = 'rf' (Enter)"
      }
    });
    this._filter.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void this.model.setFilter(this._filter.value);
      }
    });
    this._columns = h('details', { className: 'jp-mlops-column-picker' });
    this._count = h('span', { className: 'jp-mlops-count', attrs: { 'aria-live': 'polite' } });
    this._compare = this._button('Compare', 'Compare the selected (or first brushed) runs', () =>
      this._actions.compare(this.model.compareIds())
    );
    this._diff = this._button('Diff', 'What changed between the two selected runs', () =>
      this._actions.diff?.(this.model.compareIds())
    );
    this._clear = this._button('Clear brushes', 'Show every filtered run again', () =>
      this.model.clearBrushes()
    );
    this._error = h('div', { className: 'jp-mlops-error', attrs: { role: 'alert' } });
    const plots = h(
      'div',
      { className: 'jp-mlops-plots' },
      this._parcoords.node,
      this._scatter.node
    );
    this.node.append(
      h(
        'div',
        { className: 'jp-mlops-toolbar' },
        this._filter,
        this._columns,
        this._button('Refresh', 'Read the runs again', () => void this.model.refresh()),
        this._clear,
        this._compare,
        this._diff,
        this._count
      ),
      this._error,
      this._grid.node,
      plots
    );
    model.changed.connect(this._onChange, this);
    // redraw when the theme switches (canvas colours come from its variables) or the size changes
    this._theme = new MutationObserver(() => this._scheduleCharts());
    this._theme.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light']
    });
    this._resize = new ResizeObserver(() => this._scheduleCharts());
    this._resize.observe(plots);
  }

  protected onAfterAttach(msg: Message): void {
    if (!this.model.table) {
      void this.model.refresh(true).then(() => this.model.startPolling());
    }
  }

  protected onAfterShow(msg: Message): void {
    this.model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    this.model.setVisible(false);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    if (this.model.table) {
      this._grid.render();
    }
  }

  dispose(): void {
    this._theme.disconnect();
    this._resize.disconnect();
    this.model.changed.disconnect(this._onChange, this);
    this.model.dispose();
    super.dispose();
  }

  private _button(label: string, title: string, onClick: () => void): HTMLButtonElement {
    const button = h('button', { className: 'jp-mlops-button', title }, label);
    button.addEventListener('click', onClick);
    return button;
  }

  private _onChange(_: RunsTableModel, change: Change): void {
    const m = this.model;
    this._error.textContent = m.error ?? '';
    this._error.hidden = !m.error;
    if (!m.table) {
      return;
    }
    if (change === 'data') {
      this._renderPicker();
    }
    if (change === 'data' || change === 'order') {
      this._grid.scrollToTop();
    }
    this._grid.render();
    if (change === 'brush') {
      this._drawCharts();
    } else if (change === 'data') {
      this._afterPaint(() => this._drawCharts()); // the table shows first
    }
    this._renderCounts();
    if (!this.node.dataset.firstPaintMs) {
      requestAnimationFrame(() => {
        this.node.dataset.firstPaintMs = (performance.now() - this._opened).toFixed(0);
      });
    }
  }

  /** Run `fn` once the frame being prepared has been painted. */
  private _afterPaint(fn: () => void): void {
    cancelAnimationFrame(this._frame);
    this._frame = requestAnimationFrame(() => {
      this._frame = requestAnimationFrame(fn);
    });
  }

  private _scheduleCharts(): void {
    cancelAnimationFrame(this._frame);
    this._frame = requestAnimationFrame(() => this._drawCharts());
  }

  private _drawCharts(): void {
    if (this.model.table && !this.model.partial) {
      this._parcoords.draw();
      this._scatter.draw();
    }
  }

  private _renderCounts(): void {
    const m = this.model;
    const t = m.table!;
    const loaded = t.runs.run_id.length;
    const brushed = m.brushes.size ? `, ${m.matched} in brushes` : '';
    const cut = t.truncated ? ` (first ${loaded} of ${t.total})` : '';
    this._count.textContent = m.partial
      ? `${loaded} of ${t.total} runs, loading the rest…`
      : `${loaded} runs${cut}${brushed}`;
    this._clear.disabled = m.brushes.size === 0;
    const ids = m.compareIds();
    this._compare.disabled = ids.length < 2;
    this._compare.textContent = `Compare (${ids.length})`;
    this._diff.disabled = ids.length !== 2;
    this._diff.hidden = !this._actions.diff;
  }

  private _renderPicker(): void {
    const keys = this.model.table!.keys;
    const picked = new Set(this.model.columns);
    const group = (kind: 'metrics' | 'params' | 'tags') =>
      keys[kind].length
        ? h(
            'fieldset',
            {},
            h('legend', {}, kind),
            ...keys[kind].map(key => {
              const column = `${kind}.${key}`;
              const box = h('input', { attrs: { type: 'checkbox', 'data-column': column } });
              box.checked = picked.has(column);
              box.addEventListener('change', () => void this.model.toggleColumn(column));
              return h('label', { title: column }, box, columnLabel(column));
            })
          )
        : null;
    const open = this._columns.open;
    replaceChildren(
      this._columns,
      h('summary', { className: 'jp-mlops-button' }, `Columns (${picked.size})`),
      h(
        'div',
        { className: 'jp-mlops-column-list' },
        group('metrics'),
        group('params'),
        group('tags')
      )
    );
    this._columns.open = open;
  }

  private _grid: RunsGrid;
  private _parcoords: ParallelCoordinates;
  private _scatter: ScatterPlot;
  private _filter: HTMLInputElement;
  private _columns: HTMLDetailsElement;
  private _count: HTMLSpanElement;
  private _compare: HTMLButtonElement;
  private _diff: HTMLButtonElement;
  private _clear: HTMLButtonElement;
  private _error: HTMLDivElement;
  private _theme: MutationObserver;
  private _resize: ResizeObserver;
  private _frame = 0;
  private _opened: number;
}
