/**
 * "Run headless" on the notebook toolbar: a dialog generated from the
 * notebook's `parameters` cell starts a headless run on the server; the
 * Headless view follows progress and opens the executed notebook read-only.
 */
import { Dialog, showDialog, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { outcome } from './jobOutcome';
import { ParamsForm } from './forms';
import { RunFollower } from './runFollower';
import { IHeadlessRun, IMlopsSource } from './tokens';

/** Ask for parameters and start `path` headless; return the started run, or null. */
export async function runHeadless(
  source: IMlopsSource,
  path: string
): Promise<IHeadlessRun | null> {
  const params = await source.notebookParams(path);
  let values: Record<string, string> = {};
  let problem = '';
  for (;;) {
    const form = new ParamsForm(params, values, problem);
    const answer = await showDialog({
      title: `Run ${path} headless`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
    });
    if (!answer.button.accept) {
      return null;
    }
    values = form.getText();
    try {
      return await source.startHeadless(path, form.parsedValues());
    } catch (error) {
      // Back to the dialog with what was typed and what was wrong, not an empty form.
      problem = (error as Error).message;
    }
  }
}

/** Adds the "Run headless" button to every notebook's toolbar. */
export class HeadlessButton implements DocumentRegistry.WidgetExtension {
  constructor(private readonly _onClick: (path: string) => void) {}

  createNew(
    panel: any,
    context: DocumentRegistry.Context
  ): { dispose(): void; isDisposed: boolean } {
    if (context.path.includes(':')) {
      // A document of another drive (e.g. a run's stored notebook) is not on the server's disk.
      return { dispose: () => undefined, isDisposed: false };
    }
    const button = new ToolbarButton({
      className: 'jp-mlops-run-headless',
      label: 'Run headless',
      tooltip: 'Execute this notebook in a fresh kernel as one MLflow run',
      onClick: () => this._onClick(context.path)
    });
    panel.toolbar.insertItem(10, 'mlops-run-headless', button);
    return button;
  }
}

/** Headless runs started from this Lab: status, progress, cancel, open the result. */
export class HeadlessPanel extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    private readonly _open: (run: IHeadlessRun) => void
  ) {
    super();
    this.addClass('jp-mlops-headless');
    this.title.label = 'Headless';
    this._list = h('div', { className: 'jp-mlops-table-wrap' });
    this.node.append(this._list);
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: 2000, backoff: true, max: 30000 },
      name: 'jupyter-mlops:headless',
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  /** Follow a run just started (polls until every run is over). */
  track(run: IHeadlessRun): void {
    this._follower.follow(run.id);
    this._active = true;
    void this._poll.refresh();
  }

  async refresh(): Promise<void> {
    const runs = await this._source.headlessRuns();
    this._active = runs.some(r => !r.done);
    for (const run of this._follower.toOpen(runs)) {
      this._open(run);
    }
    this._render(runs);
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private _render(runs: IHeadlessRun[]): void {
    if (runs.length === 0) {
      replaceChildren(
        this._list,
        h(
          'p',
          { className: 'jp-mlops-empty' },
          'No headless runs yet: use "Run headless" on a notebook toolbar.'
        )
      );
      return;
    }
    const rows = [...runs].reverse().map(run => {
      const cancel = h('button', { className: 'jp-mlops-button' }, 'Cancel');
      cancel.addEventListener(
        'click',
        () => void this._source.cancelHeadless(run.id).then(() => this.refresh())
      );
      const open = h('button', { className: 'jp-mlops-button' }, 'Open');
      open.addEventListener('click', () => this._open(run));
      return h(
        'tr',
        {
          className: 'jp-mlops-headless-run',
          attrs: { 'data-job': run.id, 'data-status': run.status }
        },
        h('td', {}, run.label || run.notebook),
        h(
          'td',
          {},
          h(
            'span',
            { className: `jp-mlops-badge jp-mlops-badge-${run.status.toLowerCase()}` },
            run.status
          )
        ),
        outcome(run),
        h('td', {}, run.done ? (run.output_path ? open : null) : cancel)
      );
    });
    replaceChildren(
      this._list,
      h('table', { className: 'jp-mlops-table' }, h('tbody', {}, ...rows))
    );
  }

  private _list: HTMLElement;
  private _poll: Poll;
  private _active = true;
  private _follower = new RunFollower();
}
