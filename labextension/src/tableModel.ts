/**
 * State of the runs table view: the columnar runs of some experiments, picked
 * columns (remembered per experiment set), filter and order (answered by the
 * server), nested runs grouped under their parent, brushes on chart axes
 * (applied here, in the browser) and the selection for Compare.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  CellValue,
  IColumnMemory,
  IRunsTable,
  IRunsTableQuery,
  ITableSource,
  RUNS_TABLE_COMMAND
} from './tableTokens';
import { flattenGroups, groupRuns, IRowView } from './tableGroups';
import { baseRanks, sortIndices } from './tableSort';

export { flattenGroups, groupRuns, IRowView } from './tableGroups';

/** Value columns shown when nothing is remembered: this many metrics and params. */
export const DEFAULT_METRICS = 4;
export const DEFAULT_PARAMS = 4;
/** Most runs sent to Compare (each one is fetched with its metric history). */
export const MAX_COMPARE = 10;
/** Rows of the first page: shown while the rest of a large table loads. */
export const FIRST_PAGE = 200;

/** An axis of the charts: numeric (min..max) or categories in sorted order. */
export interface IAxis {
  column: string;
  numeric: boolean;
  min: number;
  max: number;
  categories: string[];
}

/** A brushed interval of an axis, as fractions 0 (bottom) .. 1 (top). */
export type Brush = [number, number];

/**
 * What changed: the runs themselves, the brushes, the order of the rows (the same
 * runs, sorted here), or only what the table shows.
 */
export type Change = 'data' | 'brush' | 'order' | 'view';

function asNumber(raw: CellValue): number | null {
  if (raw === null || raw === '') {
    return null;
  }
  const value = typeof raw === 'number' ? raw : Number(raw);
  return Number.isFinite(value) ? value : null;
}

/** An axis for `values`: numeric when every present value reads as a number. */
export function buildAxis(column: string, values: CellValue[]): IAxis {
  const present = values.filter(v => v !== null && v !== '');
  const numbers = present.map(asNumber);
  if (numbers.every(n => n !== null)) {
    let min = Infinity;
    let max = -Infinity;
    for (const n of numbers as number[]) {
      min = Math.min(min, n);
      max = Math.max(max, n);
    }
    return present.length
      ? { column, numeric: true, min, max, categories: [] }
      : { column, numeric: true, min: 0, max: 1, categories: [] };
  }
  const categories = [...new Set(present.map(String))].sort();
  return { column, numeric: false, min: 0, max: categories.length - 1, categories };
}

/** Positions (0..1, NaN when missing) of `values` on `axis`. */
export function axisPositions(axis: IAxis, values: CellValue[]): Float32Array {
  const out = new Float32Array(values.length);
  const span = axis.max - axis.min;
  const index = new Map(axis.categories.map((c, i) => [c, i]));
  values.forEach((raw, i) => {
    const v = axis.numeric ? asNumber(raw) : raw === null ? null : (index.get(String(raw)) ?? null);
    out[i] = v === null ? NaN : span > 0 ? (v - axis.min) / span : 0.5;
  });
  return out;
}

/** Which runs lie inside every brush (1) or not (0). */
export function brushMask(
  count: number,
  positions: ReadonlyMap<string, Float32Array>,
  brushes: ReadonlyMap<string, Brush>
): Uint8Array {
  const mask = new Uint8Array(count).fill(1);
  for (const [column, [lo, hi]] of brushes) {
    const pos = positions.get(column);
    if (!pos) {
      continue;
    }
    for (let i = 0; i < count; i++) {
      const p = pos[i];
      if (!(p >= lo && p <= hi)) {
        mask[i] = 0;
      }
    }
  }
  return mask;
}

/** Storage key of the picked columns of an experiment set. */
export function memoryKey(experimentIds: string[]): string {
  return `${RUNS_TABLE_COMMAND}:columns:${[...experimentIds].sort().join(',')}`;
}

/** The first metrics and params: what a table shows before anything is picked. */
export function defaultColumns(keys: IRunsTable['keys']): string[] {
  return [
    ...keys.metrics.slice(0, DEFAULT_METRICS).map(k => `metrics.${k}`),
    ...keys.params.slice(0, DEFAULT_PARAMS).map(k => `params.${k}`)
  ];
}

function recalled(memory: IColumnMemory | null, key: string): string[] | null {
  try {
    const value = JSON.parse(memory?.getItem(key) ?? 'null');
    return Array.isArray(value) && value.every(v => typeof v === 'string') ? value : null;
  } catch {
    return null;
  }
}

/** An MLflow order_by term for a column, quoting keys that are not plain names. */
export function orderTerm(column: string): string {
  const dot = column.indexOf('.');
  const [kind, key] = [column.slice(0, dot), column.slice(dot + 1)];
  if (['metrics', 'params', 'tags'].includes(kind) && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    return `${kind}.\`${key.replace(/`/g, '')}\``;
  }
  return column;
}

export class RunsTableModel {
  constructor(
    readonly source: ITableSource,
    readonly experimentIds: string[],
    private readonly _memory: IColumnMemory | null = null
  ) {
    this._columns = recalled(_memory, memoryKey(experimentIds));
  }

  /** Emitted with what changed. */
  get changed(): ISignal<this, Change> {
    return this._changed;
  }
  get table(): IRunsTable | null {
    return this._table;
  }
  /** Picked value columns (`metrics.acc`, `params.lr`, `tags.team`). */
  get columns(): string[] {
    return this._columns ?? [];
  }
  get filter(): string {
    return this._filter;
  }
  /** The column sorted by and its direction, e.g. `metrics.acc DESC`. */
  get orderBy(): string {
    return this._orderBy;
  }
  get error(): string | null {
    return this._error;
  }
  get loading(): boolean {
    return this._loading;
  }
  /** Whether the table holds only its first page while the rest loads. */
  get partial(): boolean {
    return this._partial;
  }
  get rows(): IRowView[] {
    return this._rows;
  }
  get brushes(): ReadonlyMap<string, Brush> {
    return this._brushes;
  }
  get selected(): ReadonlySet<string> {
    return this._selected;
  }
  /** Chart axes: the picked metric and param columns. */
  get axes(): IAxis[] {
    return this._axes;
  }
  /** Runs matching the filter (loaded) and inside every brush. */
  get matched(): number {
    return this._matched;
  }

  /** Position of run `i` on the axis of `column` (NaN when missing). */
  position(column: string, i: number): number {
    return this._positions.get(column)?.[i] ?? NaN;
  }

  /** Whether run `i` lies inside every brush. */
  inBrushes(i: number): boolean {
    return this._mask[i] === 1;
  }

  /** Value of `column` (a fixed field or a picked column) for run `i`. */
  value(column: string, i: number): CellValue {
    const t = this._table;
    if (!t) {
      return null;
    }
    const fixed = (t.runs as unknown as Record<string, CellValue[]>)[column];
    return (fixed ?? t.columns[column])?.[i] ?? null;
  }

  /**
   * Re-read the runs whenever the store changes: every `interval` ms a one-run probe
   * compares the index version (backing off while the server fails, standing by while
   * the view is hidden).
   */
  startPolling(interval = 5000): void {
    this._poll?.dispose();
    this._poll = new Poll({
      auto: true,
      factory: () => this.checkForChanges(),
      frequency: { interval, backoff: true, max: 60000 },
      name: 'jupyter-mlops:runs-table',
      standby: () => (this._visible ? 'when-hidden' : true)
    });
  }

  /** Visible views poll; hidden ones stand by. */
  setVisible(visible: boolean): void {
    this._visible = visible;
  }

  /** Refresh when the runs changed since the last answer (a one-run probe). */
  async checkForChanges(): Promise<void> {
    if (!this._table || this._loading) {
      return;
    }
    const probe = await this.source.runsTable({ ...this._query(), limit: 1 });
    if (probe.version !== this._table.version) {
      await this.refresh();
    }
  }

  /**
   * Fetch the runs for the current filter, order and columns (newest answer wins).
   *
   * With `firstPage` (and no brush), the top {@link FIRST_PAGE} rows of the grouped
   * table are shown first, while the rest loads.
   */
  async refresh(firstPage = false): Promise<void> {
    const ticket = ++this._ticket;
    const current = () => ticket === this._ticket;
    this._loading = true;
    try {
      if (this._columns === null) {
        const probe = await this.source.runsTable({ ...this._query(), limit: 1 });
        if (!current()) {
          return;
        }
        this._columns ??= defaultColumns(probe.keys);
      }
      const query = this._query();
      const page =
        firstPage && !this._brushes.size
          ? this.source.runsTable({ ...query, limit: FIRST_PAGE, nested: true })
          : null;
      const all = this.source.runsTable(query); // asked at once: it takes longer
      if (page) {
        all.catch(() => undefined); // awaited below, unless the first page holds every run
        const first = await page;
        if (!current()) {
          return;
        }
        this._error = null;
        this._setTable(first, query.orderBy, first.truncated);
        if (!first.truncated) {
          return;
        }
      }
      const table = await all;
      if (!current()) {
        return;
      }
      this._error = null;
      this._setTable(table, query.orderBy);
    } catch (error) {
      if (ticket === this._ticket) {
        this._error = (error as Error).message || String(error);
        this._changed.emit('view');
      }
    } finally {
      if (ticket === this._ticket) {
        this._loading = false;
      }
    }
  }

  setFilter(filter: string): Promise<void> {
    this._filter = filter.trim();
    return this.refresh(true);
  }

  /**
   * Sort by `column`; the same column again flips the direction.  When every
   * matching run is loaded the rows are sorted here, without a request.
   */
  async sortBy(column: string): Promise<void> {
    const [current, direction] = this._orderBy.split(' ');
    this._orderBy = `${column} ${current === column && direction === 'DESC' ? 'ASC' : 'DESC'}`;
    if (this._loading || !this._sortHere()) {
      return this.refresh();
    }
    this._changed.emit('order');
  }

  /** Show `columns` (remembered for this experiment set). */
  setColumns(columns: string[]): Promise<void> {
    this._columns = [...new Set(columns)];
    this._memory?.setItem(memoryKey(this.experimentIds), JSON.stringify(this._columns));
    for (const column of [...this._brushes.keys()]) {
      if (!this._columns.includes(column)) {
        this._brushes.delete(column);
      }
    }
    return this.refresh();
  }

  toggleColumn(column: string): Promise<void> {
    const has = this.columns.includes(column);
    return this.setColumns(
      has ? this.columns.filter(c => c !== column) : [...this.columns, column]
    );
  }

  /** Brush `column` to `brush` (fractions of its axis), or clear it with `null`. */
  setBrush(column: string, brush: Brush | null): void {
    if (brush) {
      this._brushes.set(column, [Math.min(...brush), Math.max(...brush)]);
    } else {
      this._brushes.delete(column);
    }
    this._applyBrushes();
    this._changed.emit('brush');
  }

  clearBrushes(): void {
    this._brushes.clear();
    this._applyBrushes();
    this._changed.emit('brush');
  }

  toggleExpanded(runId: string): void {
    if (!this._collapsed.delete(runId)) {
      this._collapsed.add(runId);
    }
    this._regroup();
    this._changed.emit('view');
  }

  toggleSelected(runId: string): void {
    if (!this._selected.delete(runId)) {
      this._selected.add(runId);
    }
    this._changed.emit('view');
  }

  /** Runs for Compare: the selection, else (while brushing) the first brushed rows. */
  compareIds(max = MAX_COMPARE): string[] {
    if (this._selected.size || !this._brushes.size || !this._table) {
      return [...this._selected].slice(0, max);
    }
    return this._rows.slice(0, max).map(r => this._table!.runs.run_id[r.index]);
  }

  dispose(): void {
    this._ticket++;
    this._poll?.dispose();
    Signal.clearData(this);
  }

  private _query(): IRunsTableQuery {
    const [column, direction] = this._orderBy.split(' ');
    return {
      experimentIds: this.experimentIds,
      filter: this._filter,
      orderBy: `${orderTerm(column)} ${direction}`,
      columns: this.columns
    };
  }

  /** Order the loaded rows by {@link orderBy} here; false when only the server can. */
  private _sortHere(): boolean {
    const t = this._table;
    if (!t || this._partial) {
      return false;
    }
    const term = this._query().orderBy;
    if (term === this._loadedOrder) {
      this._order = null;
    } else {
      this._ranks ??= baseRanks(t);
      const order = sortIndices(t, this._orderBy, this._ranks);
      if (!order) {
        return false;
      }
      this._order = order;
    }
    this._regroup();
    return true;
  }

  private _setTable(table: IRunsTable, loadedOrder: string, partial = false): void {
    this._table = table;
    this._partial = partial;
    this._loadedOrder = loadedOrder;
    this._order = null;
    this._ranks = null;
    if (!partial) {
      const known = new Set(table.runs.run_id);
      this._selected = new Set([...this._selected].filter(id => known.has(id)));
    }
    this._axes = this.columns
      .filter(c => !c.startsWith('tags.') && table.columns[c])
      .map(c => buildAxis(c, table.columns[c]));
    this._positions = new Map(
      this._axes.map(a => [a.column, axisPositions(a, table.columns[a.column])])
    );
    this._applyBrushes();
    this._changed.emit('data');
  }

  private _applyBrushes(): void {
    const n = this._table?.runs.run_id.length ?? 0;
    this._mask = brushMask(n, this._positions, this._brushes);
    this._matched = this._mask.reduce((sum, v) => sum + v, 0);
    this._regroup();
  }

  private _regroup(): void {
    const t = this._table;
    if (!t) {
      this._rows = [];
      return;
    }
    const groups = groupRuns(
      t.runs.run_id,
      t.runs.parent_id,
      i => this._mask[i] === 1,
      this._order
    );
    this._rows = flattenGroups(groups, i => !this._collapsed.has(t.runs.run_id[i]));
  }

  private _changed = new Signal<this, Change>(this);
  private _table: IRunsTable | null = null;
  private _columns: string[] | null;
  private _filter = '';
  private _orderBy = 'attributes.start_time DESC';
  private _error: string | null = null;
  private _loading = false;
  private _partial = false;
  private _loadedOrder = '';
  private _order: number[] | null = null;
  private _ranks: Int32Array | null = null;
  private _ticket = 0;
  private _rows: IRowView[] = [];
  private _axes: IAxis[] = [];
  private _positions = new Map<string, Float32Array>();
  private _brushes = new Map<string, Brush>();
  private _mask = new Uint8Array(0);
  private _matched = 0;
  private _collapsed = new Set<string>();
  private _selected = new Set<string>();
  private _poll: Poll | null = null;
  private _visible = true;
}
