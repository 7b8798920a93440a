/**
 * Pure parsing and rendering used by the dialogs (no JupyterLab imports, so
 * Jest tests them directly).
 */
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
