/**
 * State of the Runs view: experiments, query, the current page and the
 * selection for Compare.  Refreshes itself with a Lumino `Poll`: backs off
 * while the server fails and stands by while the view or the tab is hidden.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IExperiment, IMlopsSource, IRunRow, IServerStatus, VERSION } from './tokens';

export interface IPollSettings {
  /** Milliseconds between refreshes while visible. */
  interval: number;
  /** Longest wait after repeated failures. */
  max: number;
}

export const DEFAULT_POLL: IPollSettings = { interval: 5000, max: 60000 };

/** What stops the views from working: shown instead of empty panels. */
export function handshakeProblem(status: IServerStatus): string | null {
  if (status.version !== VERSION) {
    return (
      `The jupyter-mlops server extension is version ${status.version} but this ` +
      `JupyterLab extension is ${VERSION}. Install one version of jupyter-mlops in ` +
      "the server's environment and restart JupyterLab."
    );
  }
  return null;
}

export class RunsModel {
  constructor(
    readonly source: IMlopsSource,
    poll: IPollSettings = DEFAULT_POLL
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: poll.interval, backoff: true, max: poll.max },
      name: 'jupyter-mlops:runs',
      standby: () => (this._visible ? 'when-hidden' : true)
    });
  }

  /** Emitted whenever anything shown changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get experiments(): IExperiment[] {
    return this._experiments;
  }
  get experimentId(): string | null {
    return this._experimentId;
  }
  get filter(): string {
    return this._filter;
  }
  get orderBy(): string {
    return this._orderBy;
  }
  get pageSize(): number {
    return this._pageSize;
  }
  get runs(): IRunRow[] {
    return this._runs;
  }
  /** One-based number of the page shown. */
  get page(): number {
    return this._tokens.length;
  }
  get hasNext(): boolean {
    return this._next !== null;
  }
  get hasPrevious(): boolean {
    return this._tokens.length > 1;
  }
  /** The last failure's message, cleared by the next success. */
  get error(): string | null {
    return this._error;
  }
  get loading(): boolean {
    return this._loading;
  }
  get selected(): ReadonlySet<string> {
    return this._selected;
  }
  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }
  /** The poll, exposed for tests and for `refresh` on demand. */
  get poll(): Poll {
    return this._poll;
  }

  /** Start polling (call once the view is attached). */
  start(): Promise<void> {
    return this._poll.start();
  }

  /** Visible views poll; hidden ones stand by. */
  setVisible(visible: boolean): void {
    const wasHidden = !this._visible;
    this._visible = visible;
    if (visible && wasHidden && !this._poll.isDisposed) {
      void this._poll.refresh();
    }
  }

  setExperiment(id: string | null): void {
    if (id === this._experimentId) {
      return;
    }
    this._experimentId = id;
    this._selected.clear();
    this._restart();
  }

  setFilter(filter: string): void {
    this._filter = filter;
    this._restart();
  }

  /** Sort by `column` (e.g. `metrics.acc`); the same column again flips the direction. */
  sortBy(column: string): void {
    const [current, direction] = this._orderBy.split(' ');
    const flip = current === column && direction === 'DESC' ? 'ASC' : 'DESC';
    this._orderBy = `${column} ${flip}`;
    this._restart();
  }

  setPageSize(size: number): void {
    this._pageSize = Math.max(1, Math.min(1000, Math.floor(size)));
    this._restart();
  }

  nextPage(): void {
    if (this._next !== null) {
      this._tokens.push(this._next);
      void this._poll.refresh();
    }
  }

  previousPage(): void {
    if (this._tokens.length > 1) {
      this._tokens.pop();
      void this._poll.refresh();
    }
  }

  toggleSelected(runId: string): void {
    if (this._selected.has(runId)) {
      this._selected.delete(runId);
    } else {
      this._selected.add(runId);
    }
    this._changed.emit();
  }

  /** Fetch experiments and the current page; failures reject so the poll backs off. */
  async refresh(): Promise<void> {
    this._loading = true;
    try {
      this._experiments = await this.source.experiments();
      if (
        this._experimentId === null ||
        !this._experiments.some(e => e.experiment_id === this._experimentId)
      ) {
        this._experimentId = this._experiments[0]?.experiment_id ?? null;
      }
      await this._fetchPage();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message || String(error);
      throw error;
    } finally {
      this._loading = false;
      if (!this.isDisposed) {
        this._changed.emit();
      }
    }
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _fetchPage(): Promise<void> {
    if (this._experimentId === null) {
      this._runs = [];
      this._next = null;
      return;
    }
    const page = await this.source.runs({
      experimentIds: [this._experimentId],
      filter: this._filter,
      orderBy: this._orderBy,
      maxResults: this._pageSize,
      pageToken: this._tokens[this._tokens.length - 1]
    });
    this._runs = page.runs;
    this._next = page.next_page_token;
  }

  private _restart(): void {
    this._tokens = [null];
    this._next = null;
    this._changed.emit();
    if (!this._poll.isDisposed) {
      void this._poll.refresh();
    }
  }

  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _experiments: IExperiment[] = [];
  private _experimentId: string | null = null;
  private _filter = '';
  private _orderBy = 'attributes.start_time DESC';
  private _pageSize = 50;
  private _runs: IRunRow[] = [];
  private _tokens: (string | null)[] = [null];
  private _next: string | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _visible = false;
  private _selected = new Set<string>();
}
