/**
 * How a headless job reads in the sidebar: progress, why it failed, or the
 * verdict of a reproduction.
 */
import { h } from './elements';
import { IHeadlessRun, IReproduceReport } from './tokens';

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
  const where = report.isolated ? ` · ${isolatedText(report)}` : '';
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
    text + where
  );
}

/** "recorded environment: 226 of 226 distributions" (and what it was built without). */
function isolatedText(report: IReproduceReport): string {
  const counts = report.distributions;
  const skipped = report.isolated?.skipped.length ?? 0;
  return (
    'recorded environment' +
    (counts ? `: ${counts.at_recorded_version} of ${counts.recorded} distributions` : '') +
    (skipped ? `, ${skipped} skipped` : '')
  );
}
