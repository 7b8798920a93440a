/**
 * Status bar item: the run the current notebook is logging to (name, status),
 * clickable to open its detail tab.  Polls only while a notebook is current
 * and the page is visible.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { IMlopsSource, IRunRow } from './tokens';

/** MLflow filter selecting the RUNNING runs of the notebook at absolute path `path`. */
export function activeRunFilter(path: string): string | null {
  if (path.includes("'")) {
    return null; // MLflow's filter syntax has no escape for quotes inside strings
  }
  return `tags.\`mlops.notebook.path\` = '${path}' and attributes.status = 'RUNNING'`;
}

export class ActiveRunStatus extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    private readonly _serverRoot: string,
    private readonly _open: (run: IRunRow) => void
  ) {
    super();
    this.addClass('jp-mlops-statusbar');
    this.node.title = 'Active MLflow run of this notebook';
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      name: 'jupyter-mlops:status',
      standby: () => (this._notebook ? 'when-hidden' : true)
    });
    this.node.addEventListener('click', () => this._run && this._open(this._run));
  }

  /** Follow the notebook at `path` (relative to the server root), or none. */
  setNotebook(path: string | null): void {
    this._notebook = path && path.endsWith('.ipynb') ? `${this._serverRoot}/${path}` : null;
    this._run = null;
    this._render();
    void this._poll.refresh();
  }

  async refresh(): Promise<void> {
    const filter = this._notebook ? activeRunFilter(this._notebook) : null;
    if (!filter) {
      return;
    }
    const experiments = await this._source.experiments();
    if (experiments.length === 0) {
      this._run = null;
    } else {
      const page = await this._source.runs({
        experimentIds: experiments.map(e => e.experiment_id),
        filter,
        orderBy: 'attributes.start_time DESC',
        maxResults: 1,
        pageToken: null
      });
      this._run = page.runs[0] ?? null;
    }
    this._render();
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private _render(): void {
    if (!this._run) {
      replaceChildren(this.node, this._notebook ? h('span', {}, 'MLOps: no active run') : null);
      return;
    }
    replaceChildren(
      this.node,
      h('span', {}, 'MLOps: '),
      h(
        'span',
        { className: 'jp-mlops-statusbar-run' },
        this._run.name || this._run.run_id.slice(0, 8)
      ),
      ' ',
      h('span', { className: 'jp-mlops-badge jp-mlops-badge-running' }, this._run.status)
    );
  }

  private _poll: Poll;
  private _notebook: string | null = null;
  private _run: IRunRow | null = null;
}
