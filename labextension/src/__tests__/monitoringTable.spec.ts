import { monitoringTable } from '../monitoringTable';

const XSS = '<img src=x onerror=alert(1)>';

describe('monitoring table of a model', () => {
  it('lists each run as text and marks the runs of alerts', () => {
    const table = monitoringTable([
      {
        version: 2,
        time: '2026-12-01T11:02:03',
        run_id: 'abcdef0123456789',
        rows: 60,
        share_drifted: 0.54,
        alert: XSS,
        value: 0.54
      },
      {
        version: 1,
        time: '2026-11-30T09:00:00',
        run_id: '0123456789abcdef',
        rows: 40,
        share_drifted: 0,
        alert: '',
        value: null
      }
    ]);
    const rows = table.querySelectorAll('tbody tr');
    expect(rows.length).toBe(2);
    expect(rows[0].classList.contains('jp-mlops-alert')).toBe(true);
    expect(rows[1].classList.contains('jp-mlops-alert')).toBe(false);
    expect(rows[0].textContent).toContain(XSS);
    expect(rows[0].textContent).toContain('54%');
    expect(table.querySelector('img')).toBeNull();
  });

  it('says how to start monitoring when nothing was recorded', () => {
    expect(monitoringTable([]).textContent).toContain('jupyter mlops serve --monitor');
  });
});
