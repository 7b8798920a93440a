/**
 * How a headless job reads in the sidebar: progress, why it failed, or the
 * verdict of a reproduction.
 */
import { h } from './elements';
import { IHeadlessRun } from './tokens';

/** The progress while running; once over, why it failed or the reproduction verdict. */
export function outcome(run: IHeadlessRun): HTMLElement {
  if (run.error) {
    return h('td', { className: 'jp-mlops-report-bad' }, run.error);
  }
  const report = run.report;
  if (!report) {
    return h('td', {}, run.progress?.text ?? '');
  }
  const differ = report.metrics.filter(m => !m.ok).map(m => m.key);
  const total = report.metrics.length;
  const text = report.ok
    ? `Reproduced: ${total === 1 ? '1 metric matches' : `${total} metrics match`}`
    : differ.length
      ? `Not reproduced: ${differ.join(', ')} differ${differ.length === 1 ? 's' : ''}`
      : `Not reproduced: the run ended ${report.status}`;
  const detail = report.metrics
    .map(m => `${m.key}: ${m.original ?? '—'} → ${m.reproduced ?? '—'}`)
    .concat(report.environment.map(e => `${e.what}: ${e.original} → ${e.reproduced}`))
    .join('\n');
  return h(
    'td',
    {
      className: `jp-mlops-report ${report.ok ? 'jp-mlops-report-ok' : 'jp-mlops-report-bad'}`,
      title: detail
    },
    text
  );
}
