/**
 * The run detail tab: params, metrics with charts, tags, input snapshots (each
 * a link to its version in the Data view), artifacts (previewed here, opened
 * as read-only Lab documents) and a "Reproduce" action.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { lineChart } from './charts';
import { timeElement } from './dates';
import {
  formatDuration,
  formatNumber,
  h,
  keyValueTable,
  replaceChildren,
  statusBadge
} from './elements';
import { artifactKind } from './artifactDrive';
import { IArtifact, IMlopsSource, IRunDetail, MetricHistory } from './tokens';

const PREVIEW_LIMIT = 200_000;

/** What the detail tab asks of the rest of Lab. */
export interface IRunActions {
  /** Re-execute the run headless (the sidebar follows the job). */
  reproduce(runId: string, name: string): void;
  /** Show snapshot version `ref` (e.g. `train@v2`) in the Data view. */
  openSnapshot(ref: string): void;
  /** Open an artifact as a read-only Lab document. */
  openArtifact(runId: string, path: string): void;
}

export class RunDetailWidget extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    readonly runId: string,
    private readonly _actions: IRunActions
  ) {
    super();
    this.id = `jp-mlops-run-${runId}`;
    this.addClass('jp-mlops-detail');
    this.title.label = `Run ${runId.slice(0, 8)}`;
    this.title.closable = true;
    this._poll = new Poll({
      factory: () => this.load(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      name: `jupyter-mlops:run-${runId}`,
      standby: () => (this._live ? 'when-hidden' : true)
    });
  }

  /** Fetch the run and its metric histories and render them. */
  async load(): Promise<void> {
    try {
      const [run, history] = await Promise.all([
        this._source.run(this.runId),
        this._source.metricHistory(this.runId)
      ]);
      this._live = run.status === 'RUNNING' || run.status === 'SCHEDULED';
      this.title.label = run.name || this.title.label;
      this.title.caption = `${run.name} (${run.run_id})`;
      this._render(run, history);
    } catch (error) {
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
      throw error;
    }
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private _render(run: IRunDetail, history: MetricHistory): void {
    const userTags = Object.entries(run.tags).filter(
      ([k]) => !k.startsWith('mlflow.') && !k.startsWith('mlops.')
    );
    const systemTags = Object.entries(run.tags).filter(
      ([k]) => k.startsWith('mlflow.') || k.startsWith('mlops.')
    );
    const charts = Object.entries(history)
      .filter(([, points]) => points.length > 1)
      .map(([key, points]) => lineChart(key, [{ label: run.name, points }]));
    const artifacts = h('div', { className: 'jp-mlops-artifacts' });
    this._preview = h('div', { className: 'jp-mlops-preview' });
    replaceChildren(
      this.node,
      h(
        'header',
        { className: 'jp-mlops-detail-header' },
        h('h2', { className: 'jp-mlops-run-title' }, run.name || run.run_id),
        statusBadge(run.status),
        h('code', { className: 'jp-mlops-run-id' }, run.run_id),
        this._live ? null : this._reproduceButton(run)
      ),
      h(
        'p',
        { className: 'jp-mlops-meta' },
        'started ',
        timeElement(run.start_time),
        run.end_time ? ` · took ${formatDuration(run.start_time, run.end_time)}` : ''
      ),
      h(
        'section',
        {},
        h('h3', {}, 'Parameters'),
        keyValueTable(Object.entries(run.params), 'no params')
      ),
      h(
        'section',
        {},
        h('h3', {}, 'Metrics'),
        keyValueTable(
          Object.entries(run.metrics).map(([k, v]) => [k, formatNumber(v)]),
          'no metrics'
        ),
        h('div', { className: 'jp-mlops-charts' }, ...charts)
      ),
      this._inputs(run),
      h('section', {}, h('h3', {}, 'Tags'), keyValueTable(userTags, 'no tags')),
      h('section', {}, h('h3', {}, 'Artifacts'), artifacts, this._preview),
      h(
        'details',
        { className: 'jp-mlops-system-tags' },
        h('summary', {}, `System tags (${systemTags.length})`),
        keyValueTable(systemTags, 'none')
      )
    );
    void this._listArtifacts(artifacts, '');
  }

  private _reproduceButton(run: IRunDetail): HTMLElement {
    const button = h(
      'button',
      {
        className: 'jp-mlops-button jp-mlops-reproduce',
        title: 'Re-execute this run from its stored notebook, parameters and snapshots'
      },
      'Reproduce'
    );
    button.addEventListener('click', () => this._actions.reproduce(run.run_id, run.name));
    return button;
  }

  private _inputs(run: IRunDetail): HTMLElement | null {
    if (run.inputs.length === 0) {
      return null;
    }
    const label = (ref: string | null, name: string): HTMLElement => {
      if (!ref) {
        return h('span', { className: 'jp-mlops-input-name' }, name);
      }
      const link = h(
        'button',
        { className: 'jp-mlops-link jp-mlops-input-link', title: `Show ${ref} in the Data view` },
        ref
      );
      link.addEventListener('click', () => this._actions.openSnapshot(ref));
      return link;
    };
    const rows = run.inputs.map(i =>
      h(
        'li',
        { className: 'jp-mlops-input' },
        label(i.ref, i.name),
        ' ',
        h('code', { title: i.digest }, i.digest.slice(0, 12)),
        i.source && !i.ref
          ? h('span', { className: 'jp-mlops-meta' }, ` ${i.source_type}: ${i.source}`)
          : null
      )
    );
    return h('section', {}, h('h3', {}, 'Input snapshots'), h('ul', {}, ...rows));
  }

  private async _listArtifacts(into: HTMLElement, path: string): Promise<void> {
    let files: IArtifact[];
    try {
      files = await this._source.artifacts(this.runId, path);
    } catch (error) {
      replaceChildren(into, h('div', { className: 'jp-mlops-error' }, (error as Error).message));
      return;
    }
    if (files.length === 0 && !path) {
      replaceChildren(into, h('p', { className: 'jp-mlops-empty' }, 'no artifacts'));
      return;
    }
    const list = h('ul', { className: 'jp-mlops-tree' });
    for (const file of files) {
      const label = file.path.split('/').pop() ?? file.path;
      const item = h(
        'li',
        {},
        h(
          'span',
          { className: file.is_dir ? 'jp-mlops-folder' : 'jp-mlops-file', title: file.path },
          label
        )
      );
      if (file.is_dir) {
        const children = h('div', {});
        item.appendChild(children);
        item.firstChild!.addEventListener('click', () => {
          if (children.childElementCount) {
            replaceChildren(children);
          } else {
            void this._listArtifacts(children, file.path);
          }
        });
      } else {
        item.appendChild(
          h('span', { className: 'jp-mlops-meta' }, ` ${formatBytes(file.file_size)}`)
        );
        item.firstChild!.addEventListener('click', () => void this._show(file));
      }
      list.appendChild(item);
    }
    replaceChildren(into, list);
  }

  private async _show(file: IArtifact): Promise<void> {
    const url = this._source.artifactUrl(this.runId, file.path);
    const download = h(
      'a',
      { attrs: { href: this._source.artifactUrl(this.runId, file.path, true), download: '' } },
      'Download'
    );
    const kind = artifactKind(file.path);
    let open: HTMLElement | null = null;
    if (kind) {
      open = h('button', { className: 'jp-mlops-link jp-mlops-open-artifact' }, 'Open in Lab');
      open.addEventListener('click', () => this._actions.openArtifact(this.runId, file.path));
    }
    const title = h(
      'div',
      { className: 'jp-mlops-preview-title' },
      h('strong', {}, file.path),
      ' ',
      open,
      ' ',
      download
    );
    if (kind === 'notebook') {
      // Notebooks are read in Lab's own viewer; the preview below is a quick look.
      this._actions.openArtifact(this.runId, file.path);
    }
    if (kind === 'image') {
      replaceChildren(
        this._preview,
        title,
        h('img', { className: 'jp-mlops-image', attrs: { src: url, alt: file.path } })
      );
      return;
    }
    if (!kind) {
      replaceChildren(
        this._preview,
        title,
        h('p', { className: 'jp-mlops-empty' }, 'No preview for this type.')
      );
      return;
    }
    if ((file.file_size ?? 0) > PREVIEW_LIMIT * 10) {
      replaceChildren(
        this._preview,
        title,
        h('p', { className: 'jp-mlops-empty' }, 'Too large to preview.')
      );
      return;
    }
    try {
      const text = await this._source.artifactText(this.runId, file.path);
      const body =
        kind === 'notebook'
          ? notebookPreview(text)
          : /\.html?$/i.test(file.path)
            ? htmlPreview(text, file.path)
            : h('pre', {}, text.slice(0, PREVIEW_LIMIT));
      replaceChildren(this._preview, title, body);
    } catch (error) {
      replaceChildren(
        this._preview,
        title,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _poll: Poll;
  private _live = true;
  private _preview: HTMLElement = h('div', {});
}

function formatBytes(n: number | null): string {
  if (n === null) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/**
 * An HTML artifact (a report, a profile) rendered as a page, in an iframe
 * sandboxed with no permission at all: no scripts, no forms, no popups, and an
 * origin of its own, so the page can neither run code nor reach Lab.
 */
export function htmlPreview(html: string, path: string): HTMLIFrameElement {
  const frame = h('iframe', {
    className: 'jp-mlops-html-preview',
    title: path,
    attrs: { sandbox: '', referrerpolicy: 'no-referrer' }
  });
  frame.srcdoc = html;
  return frame;
}

/** A read-only view of a notebook's cells: sources and text outputs, as text. */
export function notebookPreview(json: string): HTMLElement {
  let nb: any;
  try {
    nb = JSON.parse(json);
  } catch {
    return h('p', { className: 'jp-mlops-error' }, 'Not a valid notebook file.');
  }
  const join = (v: unknown) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
  const cells = (nb.cells ?? []).map((cell: any) => {
    const outputs = (cell.outputs ?? [])
      .map((o: any) => join(o.text ?? o.data?.['text/plain'] ?? o.evalue ?? ''))
      .filter((t: string) => t);
    return h(
      'div',
      { className: `jp-mlops-nb-cell jp-mlops-nb-${cell.cell_type}` },
      h('pre', { className: 'jp-mlops-nb-source' }, join(cell.source)),
      ...outputs.map((t: string) => h('pre', { className: 'jp-mlops-nb-output' }, t))
    );
  });
  return h('div', { className: 'jp-mlops-notebook', attrs: { 'aria-readonly': 'true' } }, ...cells);
}
