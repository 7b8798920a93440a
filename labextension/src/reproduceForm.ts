/**
 * The Reproduce dialog's body: what reproducing does, and whether to run in the run's
 * recorded environment (rebuilt with uv) instead of the server's own.
 */
import { Widget } from '@lumino/widgets';

import { h } from './elements';
import { IReproduceOptions } from './tokens';

export class ReproduceForm extends Widget {
  constructor() {
    super();
    this.addClass('jp-mlops-reproduce-form');
    this.isolated = this._checkbox('jp-mlops-isolated');
    this.allowMissing = this._checkbox('jp-mlops-allow-missing');
    this.allowMissing.disabled = true;
    this.isolated.addEventListener('change', () => {
      this.allowMissing.disabled = !this.isolated.checked;
      if (!this.isolated.checked) {
        this.allowMissing.checked = false;
      }
    });
    this.node.append(
      h(
        'p',
        {},
        'Re-executes its stored notebook with the recorded parameters and pinned snapshots ' +
          'as a new run, then compares every metric.'
      ),
      h(
        'label',
        { className: 'jp-mlops-check' },
        this.isolated,
        " In the run's recorded environment (rebuilt with uv, cached by its lock)"
      ),
      h(
        'label',
        { className: 'jp-mlops-check jp-mlops-check-sub' },
        this.allowMissing,
        ' Go on without distributions that cannot be installed (listed in the report)'
      )
    );
  }

  /** What to ask the server for (`POST runs/{id}/reproduce`). */
  getValue(): IReproduceOptions {
    return this.isolated.checked
      ? { isolated: true, allow_missing: this.allowMissing.checked }
      : {};
  }

  private _checkbox(className: string): HTMLInputElement {
    return h('input', { className, attrs: { type: 'checkbox' } });
  }

  readonly isolated: HTMLInputElement;
  readonly allowMissing: HTMLInputElement;
}
