import { IPerformanceReport, performanceCharts, performanceTable } from '../performance';

const XSS = '<img src=x onerror=alert(1)>';
const REPORT: IPerformanceReport = {
  model: 'churn',
  window: 1000,
  buckets: [
    { start: '2026-12-06T10:00:00+00:00', end: '2026-12-06T11:00:00+00:00' },
    { start: '2026-12-06T11:00:00+00:00', end: '2026-12-06T12:00:00+00:00' }
  ],
  versions: [
    {
      version: '1',
      role: 'champion',
      task: 'classification',
      requests: 20,
      labels: 12,
      coverage: 0.6,
      metrics: { accuracy: 0.8333, f1_macro: 0.5 },
      series: [
        { requests: 10, labels: 8, coverage: 0.8, metrics: { accuracy: 0.75 } },
        { requests: 10, labels: 4, coverage: 0.4, metrics: { accuracy: 1 } }
      ]
    },
    {
      version: '2',
      role: XSS,
      task: 'classification',
      requests: 10,
      labels: 5,
      coverage: 0.5,
      metrics: { accuracy: 0.8 },
      series: [
        { requests: 0, labels: 0, coverage: null, metrics: {} },
        { requests: 10, labels: 5, coverage: 0.5, metrics: { accuracy: 0.8 } }
      ]
    }
  ]
};

describe('live performance charts', () => {
  it('draw the feedback metric, coverage and requests per version and role over time', () => {
    const { metric, charts } = performanceCharts(REPORT);
    expect(metric).toBe('accuracy');
    expect(charts.map(c => c.title)).toEqual([
      'accuracy (labelled predictions)',
      'label coverage (%)',
      'requests'
    ]);
    const [accuracy, coverage, requests] = charts.map(c => c.series);
    expect(accuracy.map(s => s.label)).toEqual(['v1 champion', `v2 ${XSS}`]);
    const end = Date.parse('2026-12-06T12:00:00+00:00');
    expect(accuracy[0].points).toEqual([
      { step: end - 3_600_000, value: 0.75 },
      { step: end, value: 1 }
    ]);
    // A bucket the challenger did not serve is a gap, not a zero.
    expect(accuracy[1].points[0].value).toBeNull();
    expect(coverage[0].points.map(p => p.value)).toEqual([80, 40]);
    expect(requests[1].points.map(p => p.value)).toEqual([0, 10]);
  });

  it('charts the error of regressors', () => {
    const regression = {
      ...REPORT,
      versions: REPORT.versions.map(v => ({ ...v, task: 'regression' }))
    };
    expect(performanceCharts(regression).metric).toBe('mae');
  });

  it('table: one row per version and role, user text as text', () => {
    const table = performanceTable(REPORT);
    const heads = [...table.querySelectorAll('th')].map(th => th.textContent);
    expect(heads).toEqual(['v', 'role', 'requests', 'labels', 'coverage', 'accuracy', 'f1_macro']);
    const rows = [...table.querySelectorAll('tbody tr')].map(tr =>
      [...tr.querySelectorAll('td')].map(td => td.textContent)
    );
    expect(rows[0]).toEqual(['1', 'champion', '20', '12', '60%', '0.8333', '0.5000']);
    expect(rows[1][1]).toBe(XSS);
    expect(table.querySelector('img')).toBeNull();
    const empty = performanceTable({ ...REPORT, versions: [] });
    expect(empty.textContent).toMatch(/No predictions logged yet/);
  });
});
