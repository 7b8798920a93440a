/**
 * The Data view: snapshot names and versions; diff, drift and validation between two versions.
 */
import { Widget } from '@lumino/widgets';

import { formatNumber, h, headRow, keyValueTable, replaceChildren } from './elements';
import { timeElement } from './dates';
import { IMlopsSource, ISnapshot, IValidationReport } from './tokens';

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
    const validate = h(
      'button',
      {
        className: 'jp-mlops-button jp-mlops-validate-button',
        title: 'Check the "to" version against the rules of the "from" version'
      },
      'Validate'
    );
    validate.addEventListener('click', () => void this._validate());
    this._table = h('div', { className: 'jp-mlops-table-wrap' });
    this._result = h('div', { className: 'jp-mlops-data-result' });
    this.node.append(
      h('div', { className: 'jp-mlops-toolbar' }, this._names),
      this._table,
      h('div', { className: 'jp-mlops-toolbar' }, this._a, '→', this._b),
      h('div', { className: 'jp-mlops-toolbar' }, this._key, diff, drift, validate),
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
        h('td', { title: `digest ${s.digest}` }, s.ref),
        h('td', { className: 'jp-mlops-num' }, `${s.rows} × ${s.cols}`),
        h('td', {}, timeElement(s.created))
      )
    );
    replaceChildren(
      this._table,
      h(
        'table',
        { className: 'jp-mlops-table jp-mlops-versions' },
        headRow(['Version', 'Shape', 'Created']),
        h('tbody', {}, ...rows)
      )
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

  private async _validate(): Promise<void> {
    await this._show(async () => {
      const report = await this._source.validate(this._b.value, this._a.value);
      return validationView(report, this._b.value, this._a.value);
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

/** The validation report: a verdict line and one row per anomaly (text only, never HTML). */
export function validationView(
  report: IValidationReport,
  data: string,
  against: string
): HTMLElement[] {
  const anomalies = report.anomalies ?? [];
  const verdict = report.passed
    ? `passed: ${report.rows} rows, no anomalies`
    : `${anomalies.length} ${anomalies.length === 1 ? 'anomaly' : 'anomalies'} in ${report.rows} rows`;
  const head = [
    h('h3', {}, `Validation of ${data} against ${against}`),
    h(
      'p',
      { className: report.passed ? 'jp-mlops-validate-passed' : 'jp-mlops-validate-failed' },
      verdict
    )
  ];
  if (report.passed) {
    return head;
  }
  // the detail gets a full-width row of its own: the sidebar is narrow
  const rows = anomalies.flatMap(a => [
    h(
      'tr',
      { className: 'jp-mlops-anomaly' },
      h('td', {}, a.column),
      h('td', {}, a.kind),
      h('td', { className: 'jp-mlops-num' }, a.count === null ? '' : String(a.count)),
      h(
        'td',
        { className: 'jp-mlops-num' },
        a.share === null ? '' : `${formatNumber(a.share * 100)}%`
      )
    ),
    h(
      'tr',
      { className: 'jp-mlops-anomaly-detail' },
      h('td', { attrs: { colspan: '4' } }, a.detail)
    )
  ]);
  const columns = ['column', 'kind', 'rows', 'share'];
  const table = h(
    'table',
    { className: 'jp-mlops-table jp-mlops-validate' },
    h('thead', {}, h('tr', {}, ...columns.map(c => h('th', {}, c)))),
    h('tbody', {}, ...rows)
  );
  return [...head, table];
}
