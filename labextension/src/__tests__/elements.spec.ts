import { lineChart } from '../charts';
import { differingKeys } from '../compare';
import { formatNumber, h, keyValueTable } from '../elements';
import { orderKey } from '../runsPanel';

const XSS = '<img src=x onerror=alert(1)>';

describe('safe DOM building', () => {
  it('puts user text in as text, never markup', () => {
    const el = h('div', { title: XSS }, XSS, h('span', {}, '<b>bold</b>'));
    expect(el.textContent).toBe(`${XSS}<b>bold</b>`);
    expect(el.querySelector('img')).toBeNull();
    expect(el.querySelector('b')).toBeNull();
  });

  it('renders key/value tables literally and marks differing rows', () => {
    const table = keyValueTable(
      [
        [XSS, '<script>x</script>'],
        ['same', '1']
      ],
      'none',
      new Set([XSS])
    );
    expect(table.querySelector('img, script')).toBeNull();
    const rows = table.querySelectorAll('tr');
    expect(rows[0].className).toBe('jp-mlops-diff');
    expect(rows[1].className).toBe('');
    expect(rows[0].textContent).toBe(`${XSS}<script>x</script>`);
  });

  it('labels chart series as text', () => {
    const chart = lineChart(XSS, [
      {
        label: XSS,
        points: [
          { step: 0, value: 1, timestamp: 0 },
          { step: 1, value: 0.5, timestamp: 1 }
        ]
      },
      { label: 'b', points: [{ step: 0, value: null, timestamp: 0 }] }
    ]);
    expect(chart.querySelector('img')).toBeNull();
    expect(chart.querySelector('figcaption')!.textContent).toBe(XSS);
    expect(chart.querySelectorAll('path').length).toBe(1);
  });
});

describe('compare', () => {
  it('finds keys whose values differ or are missing somewhere', () => {
    const keys = differingKeys([
      { lr: '0.1', model: 'rf', only: 'x' },
      { lr: '0.2', model: 'rf' }
    ]);
    expect([...keys].sort()).toEqual(['lr', 'only']);
  });
});

describe('formatting', () => {
  it('formats metrics compactly', () => {
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(null)).toBe('');
    expect(formatNumber(1234567.5)).toBe('1.235e+6');
  });

  it('quotes order keys that are not identifiers', () => {
    expect(orderKey('metrics', 'acc')).toBe('metrics.acc');
    expect(orderKey('metrics', 'val loss')).toBe('metrics.`val loss`');
  });
});
