/**
 * The Promote dialog's body: alias, gates, "beat ALIAS on METRIC". Built from what the
 * user typed last, so a refused or mistyped promotion comes back as it was left.
 */
import { Widget } from '@lumino/widgets';

import { h } from './elements';
import { parseGates } from './forms';
import { IModelVersion, IPromotion } from './tokens';

/** What the Promote fields hold, as typed. */
export interface IPromoteText {
  alias: string;
  gates: string;
  beat: string;
  on: string;
}

export class PromoteForm extends Widget {
  /** `text` fills the fields (defaults: alias `production`, the rest empty); `problem` shows above them. */
  constructor(version: IModelVersion, text: Partial<IPromoteText> = {}, problem = '') {
    super();
    this.addClass('jp-mlops-promote-form');
    this.alias = this._input('jp-mlops-alias', text.alias ?? 'production', 'alias');
    this.gates = h('textarea', {
      className: 'jp-mod-styled jp-mlops-gates-input',
      attrs: { rows: '3', placeholder: 'accuracy>=0.9\nf1>=0.8', 'aria-label': 'gates' }
    });
    this.gates.value = text.gates ?? '';
    this.beat = this._input('jp-mlops-beat', text.beat ?? '', 'alias to beat (optional)');
    this.on = this._input('jp-mlops-on', text.on ?? '', 'metric to compare');
    this.node.append(
      ...(problem
        ? [h('div', { className: 'jp-mlops-error', attrs: { role: 'alert' } }, problem)]
        : []),
      h('p', {}, `${version.name} version ${version.version}`),
      h('label', {}, 'Alias ', this.alias),
      h('label', {}, 'Gates (one per line) ', this.gates),
      h('label', {}, 'Beat ', this.beat, ' on ', this.on)
    );
  }

  /** The fields as typed (to show the dialog again as it was). */
  getText(): IPromoteText {
    return {
      alias: this.alias.value,
      gates: this.gates.value,
      beat: this.beat.value,
      on: this.on.value
    };
  }

  /** The promotion asked for (without the version). */
  getValue(): Omit<IPromotion, 'version'> {
    return {
      alias: this.alias.value.trim(),
      require: parseGates(this.gates.value),
      beat: this.beat.value.trim() || undefined,
      on: this.on.value.trim() || undefined
    };
  }

  private _input(className: string, value: string, placeholder: string): HTMLInputElement {
    const input = h('input', {
      className: `jp-mod-styled ${className}`,
      attrs: { placeholder, 'aria-label': placeholder }
    });
    input.value = value;
    return input;
  }

  readonly alias: HTMLInputElement;
  readonly gates: HTMLTextAreaElement;
  readonly beat: HTMLInputElement;
  readonly on: HTMLInputElement;
}
