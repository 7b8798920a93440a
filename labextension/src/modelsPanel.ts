/**
 * The Models view: registered versions with aliases and source-run metrics,
 * the audit history of a model, and a "Promote…" dialog running the gates.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { formatNumber, h, headRow, replaceChildren } from './elements';
import { timeElement } from './dates';
import { gateReportTable, parseGates, promotionProblem } from './forms';
import { monitoringTable } from './monitoringTable';
import { IMlopsSource, IModelVersion, IPromotion } from './tokens';

class PromoteForm extends Widget {
  constructor(version: IModelVersion) {
    super();
    this.addClass('jp-mlops-promote-form');
    this.alias = h('input', {
      className: 'jp-mod-styled jp-mlops-alias',
      attrs: { value: 'production' }
    });
    this.gates = h('textarea', {
      className: 'jp-mod-styled jp-mlops-gates-input',
      attrs: { rows: '3', placeholder: 'accuracy>=0.9\nf1>=0.8' }
    });
    this.beat = h('input', {
      className: 'jp-mod-styled',
      attrs: { placeholder: 'alias to beat (optional)' }
    });
    this.on = h('input', {
      className: 'jp-mod-styled',
      attrs: { placeholder: 'metric to compare' }
    });
    this.node.append(
      h('p', {}, `${version.name} version ${version.version}`),
      h('label', {}, 'Alias ', this.alias),
      h('label', {}, 'Gates (one per line) ', this.gates),
      h('label', {}, 'Beat ', this.beat, ' on ', this.on)
    );
  }

  getValue(): Omit<IPromotion, 'version'> {
    return {
      alias: this.alias.value.trim(),
      require: parseGates(this.gates.value),
      beat: this.beat.value.trim() || undefined,
      on: this.on.value.trim() || undefined
    };
  }

  alias: HTMLInputElement;
  gates: HTMLTextAreaElement;
  beat: HTMLInputElement;
  on: HTMLInputElement;
}

export class ModelsPanel extends Widget {
  constructor(
    private readonly _source: IMlopsSource,
    private readonly _openCard?: (name: string, version: string) => unknown
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
    const rows = versions.map(v => {
      const promote = h('button', { className: 'jp-mlops-button jp-mlops-promote' }, 'Promote…');
      promote.addEventListener('click', () => void this._promote(v));
      const card = h(
        'button',
        {
          className: 'jp-mlops-button jp-mlops-card-open',
          title: 'The model card of this version'
        },
        'Card'
      );
      card.addEventListener('click', () => this._openCard?.(v.name, String(v.version)));
      card.hidden = !this._openCard;
      const name = h('td', { className: 'jp-mlops-model-name', title: 'Show history' }, v.name);
      name.addEventListener('click', () => void this._history(v.name));
      return h(
        'tr',
        {
          className: 'jp-mlops-model-version',
          attrs: { 'data-model': v.name, 'data-version': String(v.version) }
        },
        name,
        h('td', { className: 'jp-mlops-num' }, String(v.version)),
        h('td', { className: 'jp-mlops-aliases' }, v.aliases || ''),
        ...metricKeys.map(k =>
          h('td', { className: 'jp-mlops-num' }, formatNumber(v[k] as number | null))
        ),
        h('td', {}, promote, card)
      );
    });
    const header = h(
      'tr',
      {},
      h('th', {}, 'Model'),
      h('th', {}, 'v'),
      h('th', {}, 'Aliases'),
      ...metricKeys.map(k => h('th', {}, k.slice(8))),
      h('th', {}, '')
    );
    replaceChildren(
      this._list,
      h('table', { className: 'jp-mlops-table' }, h('thead', {}, header), h('tbody', {}, ...rows))
    );
  }

  private async _promote(version: IModelVersion): Promise<void> {
    const form = new PromoteForm(version);
    const answer = await showDialog({
      title: 'Promote model version',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Promote' })]
    });
    if (!answer.button.accept) {
      return;
    }
    const values = form.getValue();
    const problem = promotionProblem(values);
    if (problem) {
      replaceChildren(this._status, h('div', { className: 'jp-mlops-error' }, problem));
      return;
    }
    try {
      const result = await this._source.promote(version.name, {
        ...values,
        version: version.version
      });
      const outcome = result.promoted
        ? `${version.name} v${version.version} is now ${values.alias}.`
        : result.message;
      replaceChildren(
        this._status,
        h('div', { className: result.promoted ? 'jp-mlops-ok' : 'jp-mlops-error' }, outcome),
        gateReportTable(result.report)
      );
    } catch (error) {
      replaceChildren(
        this._status,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
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
      replaceChildren(
        this._detail,
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
}
