/**
 * The Models view's monitoring table: each version's latest monitoring runs and alerts.
 */
import { formatNumber, h } from './elements';
import { timeElement } from './dates';
import { MonitoringEntry } from './tokens';

/** Each version's latest monitoring runs; a run logged by an alert is marked and names it. */
export function monitoringTable(entries: MonitoringEntry[]): HTMLElement {
  if (!entries.length) {
    return h(
      'p',
      { className: 'jp-mlops-empty' },
      'not monitored yet: mlops.monitor(...) or jupyter mlops serve --monitor'
    );
  }
  const head = h(
    'tr',
    {},
    ...['v', 'alert', 'drifted', 'rows', 'time', 'run'].map(c => h('th', {}, c))
  );
  const rows = entries.map(e => {
    const alert = e.alert ? `${e.alert} (${formatNumber(Number(e.value))})` : '';
    const drifted =
      e.share_drifted === null || e.share_drifted === undefined
        ? ''
        : `${Math.round(Number(e.share_drifted) * 100)}%`;
    const rowsScored = e.rows === null || e.rows === undefined ? '' : formatNumber(Number(e.rows));
    return h(
      'tr',
      { className: e.alert ? 'jp-mlops-monitoring-run jp-mlops-alert' : 'jp-mlops-monitoring-run' },
      h('td', {}, String(e.version ?? '')),
      h('td', { title: alert }, alert),
      h('td', {}, drifted),
      h('td', {}, rowsScored),
      h('td', {}, timeElement(e.time as string | number | null)),
      h('td', { title: String(e.run_id ?? '') }, String(e.run_id ?? '').slice(0, 8))
    );
  });
  return h(
    'table',
    { className: 'jp-mlops-table jp-mlops-monitoring' },
    h('thead', {}, head),
    h('tbody', {}, ...rows)
  );
}
