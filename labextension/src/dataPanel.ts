/**
 * The Data view: snapshot names and versions; diff and drift between two versions.
 */
import { Widget } from '@lumino/widgets';

import { formatNumber, h, keyValueTable, replaceChildren } from './elements';
import { IMlopsSource, ISnapshot } from './tokens';

export class DataPanel extends Widget {
  constructor(private readonly _source: IMlopsSource) {
    super();
    this.addClass('jp-mlops-data');
    this.title.label = 'Data';
    this._names = h('select', { className: 'jp-mlops-snapshot-name', title: 'Snapshot' });
    this._names.addEventListener('change', () => {
      this._focus = null;
      void this._versions(this._names.value);
    });
    this._a = h('select', { className: 'jp-mlops-ref-a', title: 'From' });
    this._b = h('select', { className: 'jp-mlops-ref-b', title: 'To' });
    this._key = h('input', {
      className: 'jp-mod-styled jp-mlops-key',
      attrs: { placeholder: 'key column (optional)' }
    });
    const diff = h('button', { className: 'jp-mlops-button jp-mlops-diff-button' }, 'Diff');
    diff.addEventListener('click', () => void this._diff());
    const drift = h('button', { className: 'jp-mlops-button jp-mlops-drift-button' }, 'Drift');
    drift.addEventListener('click', () => void this._drift());
    this._table = h('div', { className: 'jp-mlops-table-wrap' });
    this._result = h('div', { className: 'jp-mlops-data-result' });
    this.node.append(
      h('div', { className: 'jp-mlops-toolbar' }, this._names),
      this._table,
      h('div', { className: 'jp-mlops-toolbar' }, this._a, '→', this._b),
      h('div', { className: 'jp-mlops-toolbar' }, this._key, diff, drift),
      this._result
    );
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /**
   * Show snapshot version `ref` (e.g. `train@v2`): its name selected, its row
   * marked, and it set as the "to" side against the version before it.
   */
  async reveal(ref: string): Promise<void> {
    this._focus = ref;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const latest = await this._source.snapshots();
      const names = latest.map(s => s.ref.split('@')[0]);
      const focused = this._focus?.split('@')[0];
      const current =
        (focused && names.includes(focused) ? focused : null) ||
        this._names.value ||
        names[0] ||
        '';
      replaceChildren(
        this._names,
        ...names.map(n => {
          const opt = h('option', { attrs: { value: n } }, n);
          opt.selected = n === current;
          return opt;
        })
      );
      if (names.length === 0) {
        replaceChildren(
          this._table,
          h(
            'p',
            { className: 'jp-mlops-empty' },
            'No snapshots yet: %mlops snapshot df --name train'
          )
        );
        return;
      }
      await this._versions(current);
    } catch (error) {
      replaceChildren(
        this._table,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private async _versions(name: string): Promise<void> {
    const versions: ISnapshot[] = await this._source.snapshots(name);
    const focus = versions.findIndex(s => s.ref === this._focus);
    const rows = versions.map((s, i) =>
      h(
        'tr',
        {
          className: `jp-mlops-snapshot${i === focus ? ' jp-mlops-selected' : ''}`,
          attrs: { 'data-ref': s.ref }
        },
        h('td', {}, s.ref),
        h('td', { title: s.digest }, s.digest),
        h('td', { className: 'jp-mlops-num' }, `${s.rows} × ${s.cols}`),
        h('td', {}, s.created ?? '')
      )
    );
    replaceChildren(
      this._table,
      h('table', { className: 'jp-mlops-table' }, h('tbody', {}, ...rows))
    );
    const options = (selectedIndex: number) =>
      versions.map((s, i) => {
        const opt = h('option', { attrs: { value: s.ref } }, s.ref);
        opt.selected = i === selectedIndex;
        return opt;
      });
    const to = focus >= 0 ? focus : versions.length - 1;
    replaceChildren(this._a, ...options(Math.max(0, to - 1)));
    replaceChildren(this._b, ...options(to));
    this._table.querySelector('.jp-mlops-selected')?.scrollIntoView?.({ block: 'nearest' });
  }

  private async _diff(): Promise<void> {
    await this._show(async () => {
      const report = await this._source.diff(
        this._a.value,
        this._b.value,
        this._key.value.trim() || undefined
      );
      const rows = Object.entries(report.rows ?? {}).map(
        ([k, v]) => [k, String(v ?? '')] as [string, string]
      );
      const schema = report.schema ?? {};
      return [
        h('h3', {}, `${this._a.value} → ${this._b.value}`),
        keyValueTable(rows, 'no row summary'),
        keyValueTable(
          [
            ['columns added', (schema.added ?? []).join(', ')],
            ['columns removed', (schema.removed ?? []).join(', ')],
            ['columns retyped', Object.keys(schema.retyped ?? {}).join(', ')]
          ],
          ''
        )
      ];
    });
  }

  private async _drift(): Promise<void> {
    await this._show(async () => {
      const report = await this._source.drift(this._a.value, this._b.value);
      const columns: Record<string, any>[] = report.columns ?? [];
      const keys = columns.length ? Object.keys(columns[0]) : [];
      const table = h(
        'table',
        { className: 'jp-mlops-table jp-mlops-drift' },
        h('thead', {}, h('tr', {}, ...keys.map(k => h('th', {}, k)))),
        h(
          'tbody',
          {},
          ...columns.map(c =>
            h(
              'tr',
              { className: c.drifted ? 'jp-mlops-diff' : '' },
              ...keys.map(k =>
                h('td', {}, typeof c[k] === 'number' ? formatNumber(c[k]) : String(c[k] ?? ''))
              )
            )
          )
        )
      );
      return [
        h('h3', {}, `Drift of ${this._b.value} against ${this._a.value}`),
        h('p', {}, `${formatNumber((report.share_drifted ?? 0) * 100)}% of columns drifted`),
        table
      ];
    });
  }

  private async _show(build: () => Promise<HTMLElement[]>): Promise<void> {
    replaceChildren(this._result, h('p', { className: 'jp-mlops-empty' }, 'Computing…'));
    try {
      replaceChildren(this._result, ...(await build()));
    } catch (error) {
      replaceChildren(
        this._result,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _focus: string | null = null;
  private _names: HTMLSelectElement;
  private _a: HTMLSelectElement;
  private _b: HTMLSelectElement;
  private _key: HTMLInputElement;
  private _table: HTMLElement;
  private _result: HTMLElement;
}
