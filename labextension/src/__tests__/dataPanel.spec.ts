import { validationView } from '../dataPanel';

const XSS = '<img src=x onerror=alert(1)>';

describe('validation report view', () => {
  it('lists each anomaly as text, with rows and share', () => {
    const nodes = validationView(
      {
        passed: false,
        rows: 200,
        against: 'train@v1',
        data: 'batch@v2',
        anomalies: [
          { column: XSS, kind: 'unseen_category', detail: XSS, count: 4, share: 0.02 },
          { column: 'age', kind: 'missing_column', detail: 'absent', count: null, share: null }
        ]
      },
      'batch@v2',
      'train@v1'
    );
    const root = document.createElement('div');
    root.append(...nodes);
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('.jp-mlops-validate-failed')?.textContent).toBe(
      '2 anomalies in 200 rows'
    );
    const rows = Array.from(root.querySelectorAll('tr.jp-mlops-anomaly')).map(tr =>
      Array.from(tr.querySelectorAll('td')).map(td => td.textContent)
    );
    expect(rows).toEqual([
      [XSS, 'unseen_category', '4', '2%'],
      ['age', 'missing_column', '', '']
    ]);
    const details = Array.from(root.querySelectorAll('tr.jp-mlops-anomaly-detail td'));
    expect(details.map(td => td.textContent)).toEqual([XSS, 'absent']);
  });

  it('says passed without a table', () => {
    const nodes = validationView(
      { passed: true, rows: 10, against: 'a@v1', data: null, anomalies: [] },
      'a@v2',
      'a@v1'
    );
    const root = document.createElement('div');
    root.append(...nodes);
    expect(root.querySelector('table')).toBeNull();
    expect(root.textContent).toContain('passed: 10 rows, no anomalies');
  });
});
