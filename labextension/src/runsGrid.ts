/**
 * The wide runs table: sortable header, nested runs indented under their parent
 * with expand/collapse, status badges, and row virtualization (only the rows in
 * view exist in the DOM, so 10,000 runs scroll smoothly).  User text goes
 * through `textContent` only.
 */
import { Widget } from '@lumino/widgets';

import { timeElement } from './dates';
import { formatDuration, formatNumber, h, replaceChildren, statusBadge } from './elements';
import { IRowView, RunsTableModel } from './tableModel';

export const ROW_HEIGHT = 26;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 12;
const INDENT = 16;

/** The fixed columns: (title, order key, width). */
const FIXED: [string, string, string][] = [
  ['Run', 'attributes.run_name', '240px'],
  ['Status', 'attributes.status', '92px'],
  ['Started', 'attributes.start_time', '160px'],
  ['Duration', 'duration', '90px']
];
const VALUE_WIDTH = '120px';

export interface IGridActions {
  openRun(runId: string, name: string): void;
}

/** Text of a value cell. */
export function cellText(value: number | string | null): string {
  return typeof value === 'number' ? formatNumber(value) : (value ?? '');
}

export class RunsGrid extends Widget {
  constructor(
    readonly model: RunsTableModel,
    private readonly _actions: IGridActions
  ) {
    super();
    this.addClass('jp-mlops-grid');
    this._head = h('div', { className: 'jp-mlops-grid-head', attrs: { role: 'row' } });
    this._body = h('div', { className: 'jp-mlops-grid-body', attrs: { role: 'rowgroup' } });
    this.node.setAttribute('role', 'table');
    this.node.append(this._head, this._body);
    this.node.addEventListener('scroll', () => this._scheduleWindow());
  }

  /** Redraw the header and the rows in view. */
  render(): void {
    const columns = this.model.columns;
    this._template = [
      '28px',
      ...FIXED.map(([, , width]) => width),
      ...columns.map(() => VALUE_WIDTH)
    ].join(' ');
    this._head.style.gridTemplateColumns = this._template;
    replaceChildren(
      this._head,
      h('div', { className: 'jp-mlops-grid-cell' }, ''),
      ...FIXED.map(([title, key]) => this._sortCell(title, key)),
      ...columns.map(c => this._sortCell(c.slice(c.indexOf('.') + 1), c, c))
    );
    this._body.style.height = `${this.model.rows.length * ROW_HEIGHT}px`;
    this._drawWindow();
  }

  /** Scroll so the first row is in view. */
  scrollToTop(): void {
    this.node.scrollTop = 0;
  }

  private _scheduleWindow(): void {
    if (this._frame === 0) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._drawWindow();
      });
    }
  }

  private _drawWindow(): void {
    const rows = this.model.rows;
    const top = Math.max(0, this.node.scrollTop - this._head.offsetHeight);
    const visible = Math.ceil((this.node.clientHeight || 600) / ROW_HEIGHT);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows.length, first + visible + 2 * OVERSCAN);
    const drawn: HTMLElement[] = [];
    for (let k = first; k < last; k++) {
      drawn.push(this._row(rows[k], k));
    }
    replaceChildren(this._body, ...drawn);
  }

  private _sortCell(title: string, key: string, tooltip = ''): HTMLElement {
    const [current, direction] = this.model.orderBy.split(' ');
    const arrow = current === key ? (direction === 'ASC' ? ' ▲' : ' ▼') : '';
    const cell = h(
      'div',
      {
        className: 'jp-mlops-grid-cell jp-mlops-sortable',
        title: `Sort by ${tooltip || key}`,
        attrs: { role: 'columnheader', 'data-column': key }
      },
      title + arrow
    );
    cell.addEventListener('click', () => void this.model.sortBy(key));
    return cell;
  }

  private _row(view: IRowView, k: number): HTMLElement {
    const m = this.model;
    const runs = m.table!.runs;
    const i = view.index;
    const runId = runs.run_id[i];
    const name = runs.name[i] || runId.slice(0, 8);
    const box = h('input', { attrs: { type: 'checkbox', 'aria-label': `select ${name}` } });
    box.checked = m.selected.has(runId);
    box.addEventListener('click', () => m.toggleSelected(runId));
    const row = h(
      'div',
      {
        className: `jp-mlops-grid-row${view.depth ? ' jp-mlops-nested' : ''}`,
        attrs: { role: 'row', 'data-run-id': runId, 'data-depth': String(view.depth) }
      },
      h('div', { className: 'jp-mlops-grid-cell' }, box),
      this._nameCell(view, runId, name),
      h('div', { className: 'jp-mlops-grid-cell' }, statusBadge(runs.status[i])),
      h('div', { className: 'jp-mlops-grid-cell' }, timeElement(runs.start_time[i])),
      h(
        'div',
        { className: 'jp-mlops-grid-cell' },
        formatDuration(runs.start_time[i], runs.end_time[i])
      ),
      ...m.columns.map(c => {
        const text = cellText(m.value(c, i));
        const num = c.startsWith('metrics.') ? ' jp-mlops-num' : '';
        return h('div', { className: `jp-mlops-grid-cell${num}`, title: text }, text);
      })
    );
    row.style.gridTemplateColumns = this._template;
    row.style.top = `${k * ROW_HEIGHT}px`;
    return row;
  }

  private _nameCell(view: IRowView, runId: string, name: string): HTMLElement {
    const toggle = view.childCount
      ? h(
          'button',
          {
            className: 'jp-mlops-toggle',
            title: `${view.expanded ? 'Collapse' : 'Expand'} ${view.childCount} nested runs`,
            attrs: { 'aria-expanded': String(view.expanded) }
          },
          view.expanded ? '▾' : '▸'
        )
      : h('span', { className: 'jp-mlops-toggle-space' });
    toggle.addEventListener('click', () => this.model.toggleExpanded(runId));
    const link = h('span', { className: 'jp-mlops-run-link', title: runId }, name);
    link.addEventListener('click', () => this._actions.openRun(runId, name));
    const count = view.childCount
      ? h('span', { className: 'jp-mlops-child-count' }, ` (${view.childCount})`)
      : null;
    const cell = h(
      'div',
      { className: 'jp-mlops-grid-cell jp-mlops-run-name' },
      toggle,
      link,
      count
    );
    cell.style.paddingLeft = `${4 + view.depth * INDENT}px`;
    return cell;
  }

  private _head: HTMLDivElement;
  private _body: HTMLDivElement;
  private _template = '';
  private _frame = 0;
}
