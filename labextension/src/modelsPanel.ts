/**
 * The Models view: registered versions with aliases and source-run metrics,
 * the audit history of a model, and a "Promote…" dialog running the gates.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { formatNumber, h, headRow, replaceChildren } from './elements';
import { timeElement } from './dates';
import { gateReportTable, promotionProblem } from './forms';
import { monitoringTable } from './monitoringTable';
import { IPromoteText, PromoteForm } from './promoteForm';
import { IMlopsSource, IModelVersion } from './tokens';

export class ModelsPanel extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    private readonly _openCard?: (name: string, version: string) => unknown,
    private readonly _openPerformance?: (name: string) => unknown
  ) {
    super();
    this.addClass('jp-mlops-models');
    this.title.label = 'Models';
    const refresh = h('button', { className: 'jp-mlops-button' }, 'Refresh');
    refresh.addEventListener('click', () => void this.refresh());
    this._list = h('div', { className: 'jp-mlops-table-wrap' });
    this._detail = h('div', { className: 'jp-mlops-model-detail' });
    this._status = h('div', { className: 'jp-mlops-status-line', attrs: { role: 'status' } });
    this.node.append(
      h('div', { className: 'jp-mlops-toolbar' }, refresh),
      this._status,
      this._list,
      this._detail
    );
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this._render(await this._source.models());
    } catch (error) {
      replaceChildren(
        this._list,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _render(versions: IModelVersion[]): void {
    if (versions.length === 0) {
      replaceChildren(
        this._list,
        h(
          'p',
          { className: 'jp-mlops-empty' },
          'No registered models yet: mlops.register_model(model, "name")'
        )
      );
      return;
    }
    const metricKeys = [
      ...new Set(versions.flatMap(v => Object.keys(v).filter(k => k.startsWith('metrics.'))))
    ]
      .sort()
      .slice(0, 4);
    const groups = versions.map(v => this._versionRows(v, metricKeys));
    replaceChildren(
      this._list,
      h(
        'table',
        { className: 'jp-mlops-table jp-mlops-versions-list' },
        headRow(['Model', 'v', 'Aliases']),
        ...groups
      )
    );
  }

  /**
   * One version as two rows: name, number and aliases; then its source run's metrics
   * and the actions, which wrap at the sidebar's width instead of running past its edge.
   */
  private _versionRows(v: IModelVersion, metricKeys: string[]): HTMLElement {
    const promote = h('button', { className: 'jp-mlops-button jp-mlops-promote' }, 'Promote…');
    promote.addEventListener('click', () => void this._promote(v));
    const card = h(
      'button',
      { className: 'jp-mlops-button jp-mlops-card-open', title: 'The model card of this version' },
      'Card'
    );
    card.addEventListener('click', () => this._openCard?.(v.name, String(v.version)));
    card.hidden = !this._openCard;
    const name = h('td', { className: 'jp-mlops-model-name', title: 'Show history' }, v.name);
    name.addEventListener('click', () => void this._history(v.name));
    const metrics = metricKeys
      .filter(k => v[k] !== null && v[k] !== undefined)
      .map(k =>
        h(
          'span',
          { className: 'jp-mlops-version-metric', title: k.slice(8) },
          `${k.slice(8)} ${formatNumber(v[k] as number)}`
        )
      );
    return h(
      'tbody',
      {
        className: 'jp-mlops-model-version',
        attrs: { 'data-model': v.name, 'data-version': String(v.version) }
      },
      h(
        'tr',
        { className: 'jp-mlops-version-head' },
        name,
        h('td', { className: 'jp-mlops-num' }, String(v.version)),
        h('td', { className: 'jp-mlops-aliases' }, v.aliases || '')
      ),
      h(
        'tr',
        { className: 'jp-mlops-version-more' },
        h(
          'td',
          { attrs: { colspan: '3' } },
          metrics.length ? h('div', { className: 'jp-mlops-version-line' }, ...metrics) : null,
          h('div', { className: 'jp-mlops-version-line' }, promote, card)
        )
      )
    );
  }

  private async _promote(version: IModelVersion): Promise<void> {
    const key = `${version.name}/${version.version}`;
    let problem = '';
    for (;;) {
      const form = new PromoteForm(version, this._typed.get(key), problem);
      const answer = await showDialog({
        title: 'Promote model version',
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Promote' })]
      });
      if (!answer.button.accept) {
        return;
      }
      // Kept until the promotion passes: the dialog comes back as it was left.
      this._typed.set(key, form.getText());
      const values = form.getValue();
      problem = promotionProblem(values) ?? '';
      if (problem) {
        continue;
      }
      try {
        const result = await this._source.promote(version.name, {
          ...values,
          version: version.version
        });
        if (result.promoted) {
          this._typed.delete(key);
        }
        const outcome = result.promoted
          ? `${version.name} v${version.version} is now ${values.alias}.`
          : result.message;
        replaceChildren(
          this._status,
          h('div', { className: result.promoted ? 'jp-mlops-ok' : 'jp-mlops-error' }, outcome),
          gateReportTable(result.report)
        );
        break;
      } catch (error) {
        problem = (error as Error).message;
      }
    }
    await this.refresh();
  }

  private async _history(name: string): Promise<void> {
    try {
      const [entries, monitoring] = await Promise.all([
        this._source.modelHistory(name),
        this._source.modelMonitoring(name)
      ]);
      const rows = entries.map(e =>
        h(
          'tr',
          {},
          h('td', {}, timeElement(e.time as string | number | null)),
          h('td', {}, String(e.version ?? '')),
          h('td', {}, String(e.alias ?? '')),
          h('td', { title: `gates: ${e.gates ?? '(none)'}` }, String(e.result ?? ''))
        )
      );
      const performance = h(
        'button',
        {
          className: 'jp-mlops-button jp-mlops-performance-open',
          title: 'Live performance of each version from the prediction log, over time'
        },
        'Performance'
      );
      performance.addEventListener('click', () => this._openPerformance?.(name));
      performance.hidden = !this._openPerformance;
      replaceChildren(
        this._detail,
        h('div', { className: 'jp-mlops-toolbar' }, performance),
        h('h3', {}, `History of ${name}`),
        rows.length
          ? h(
              'table',
              { className: 'jp-mlops-table jp-mlops-history' },
              headRow(['When', 'v', 'Alias', 'Result']),
              h('tbody', {}, ...rows)
            )
          : h('p', { className: 'jp-mlops-empty' }, 'no promotions yet'),
        h('h3', {}, `Monitoring of ${name}`),
        monitoringTable(monitoring)
      );
    } catch (error) {
      replaceChildren(
        this._detail,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _list: HTMLElement;
  private _detail: HTMLElement;
  private _status: HTMLElement;
  /** What the Promote dialog held for each version, by `name/version`. */
  private _typed = new Map<string, IPromoteText>();
}
