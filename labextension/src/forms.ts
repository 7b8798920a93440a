/**
 * Pure parsing and rendering used by the dialogs, and the parameters form of
 * Run headless and Schedule… (no JupyterLab imports, so Jest tests them directly).
 */
import { Widget } from '@lumino/widgets';

import { formatNumber, h } from './elements';
import { IGateReport, INotebookParam } from './tokens';

/** Turn the dialog's text for one parameter into the value sent (JSON when it parses). */
export function parseParamValue(param: INotebookParam, text: string): unknown {
  const value = text.trim();
  if (param.type === 'str') {
    try {
      const parsed = JSON.parse(value.replace(/^'(.*)'$/, '"$1"'));
      return typeof parsed === 'string' ? parsed : value;
    } catch {
      return value;
    }
  }
  const pythonic = value
    .replace(/^True$/, 'true')
    .replace(/^False$/, 'false')
    .replace(/^None$/, 'null');
  try {
    return JSON.parse(pythonic);
  } catch {
    throw new Error(`${param.name}: ${JSON.stringify(value)} is not a valid ${param.type}`);
  }
}

/** Parse the dialog's gate lines ("accuracy>=0.9", one per line or comma-separated). */
export function parseGates(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** The gate report as a table: check, value, threshold, pass/FAIL. */
export function gateReportTable(report: IGateReport): HTMLElement {
  const rows = report.checks.map(c =>
    h(
      'tr',
      { className: c.passed ? 'jp-mlops-pass' : 'jp-mlops-fail' },
      h('td', {}, c.check),
      h('td', { className: 'jp-mlops-num' }, formatNumber(c.value)),
      h('td', { className: 'jp-mlops-num' }, formatNumber(c.threshold)),
      h('td', {}, c.passed ? 'pass' : 'FAIL')
    )
  );
  return h(
    'table',
    { className: 'jp-mlops-table jp-mlops-gates' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'gate'),
        h('th', {}, 'value'),
        h('th', {}, 'threshold'),
        h('th', {}, '')
      )
    ),
    h('tbody', {}, ...rows)
  );
}

/**
 * What is wrong with the Promote dialog's fields, in the dialog's own words
 * (the server's messages name the CLI's options), or null when it can be sent.
 */
export function promotionProblem(value: {
  alias: string;
  beat?: string;
  on?: string;
}): string | null {
  if (!value.alias) {
    return 'Alias is empty: give the alias to move, e.g. production.';
  }
  if (Boolean(value.beat) !== Boolean(value.on)) {
    return value.beat
      ? `Beat "${value.beat}" needs the metric to compare on: fill "on", e.g. accuracy.`
      : `"On ${value.on}" needs the alias to beat: fill "Beat", e.g. production.`;
  }
  return null;
}

/** Inputs built from a notebook's `parameters` cell (also used by the Schedule… dialog). */
export class ParamsForm extends Widget {
  /**
   * `values` (by name) replace the defaults shown, and `problem` is shown above
   * the fields: how the dialog comes back after a refused run, as the user left it.
   */
  constructor(
    readonly params: INotebookParam[],
    values: Record<string, string> = {},
    problem = ''
  ) {
    super();
    this.addClass('jp-mlops-params-form');
    if (problem) {
      this.node.append(
        h('div', { className: 'jp-mlops-error', attrs: { role: 'alert' } }, problem)
      );
    }
    if (params.length === 0) {
      this.node.append(
        h('p', {}, 'This notebook has no cell tagged "parameters": it runs with its own values.')
      );
    }
    for (const p of params) {
      const input = h('input', {
        className: 'jp-mod-styled jp-mlops-param-input',
        attrs: { name: p.name, value: values[p.name] ?? p.default, 'aria-label': p.name }
      });
      this.inputs.push(input);
      this.node.append(
        h(
          'label',
          { className: 'jp-mlops-param-row', title: p.help },
          h('span', {}, `${p.name} (${p.type})`),
          input
        )
      );
    }
  }

  /** What each field holds, as typed (to show the dialog again as it was). */
  getText(): Record<string, string> {
    return Object.fromEntries(this.params.map((p, i) => [p.name, this.inputs[i].value]));
  }

  /**
   * The parameters that differ from their defaults, parsed; throws on a value
   * that is not of its type. (Not `getValue`: a dialog would call that itself
   * and lose the form on a throw.)
   */
  parsedValues(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.params.forEach((p, i) => {
      if (this.inputs[i].value.trim() !== p.default.trim()) {
        out[p.name] = parseParamValue(p, this.inputs[i].value);
      }
    });
    return out;
  }

  inputs: HTMLInputElement[] = [];
}
