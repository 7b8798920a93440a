import { activeRunFilter } from '../statusRun';
import { gateReportTable, parseGates, parseParamValue } from '../forms';
import { lineChart, seriesLegend } from '../charts';
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

describe('headless parameters', () => {
  const param = (type: string) => ({ name: 'p', type, default: '', help: '' });

  it('sends numbers, booleans and lists typed, strings as text', () => {
    expect(parseParamValue(param('float'), '0.05')).toBe(0.05);
    expect(parseParamValue(param('bool'), 'True')).toBe(true);
    expect(parseParamValue(param('list'), '[1, 2]')).toEqual([1, 2]);
    expect(parseParamValue(param('str'), "'rf'")).toBe('rf');
    expect(parseParamValue(param('str'), 'plain')).toBe('plain');
  });

  it('names the parameter when a value does not parse', () => {
    expect(() => parseParamValue(param('int'), 'ten')).toThrow('p: "ten" is not a valid int');
  });
});

describe('promotion gates', () => {
  it('splits gate lines and commas', () => {
    expect(parseGates('accuracy>=0.9\n f1>=0.8, \n')).toEqual(['accuracy>=0.9', 'f1>=0.8']);
  });

  it('renders the gate report with pass and FAIL rows', () => {
    const table = gateReportTable({
      model: 'm',
      version: '1',
      passed: false,
      promoted_to: null,
      previous: null,
      checks: [
        { check: 'accuracy>=0.9', value: 0.8, threshold: 0.9, passed: false },
        { check: '<b>x</b>', value: 1, threshold: 0, passed: true }
      ]
    });
    const rows = table.querySelectorAll('tbody tr');
    expect(rows[0].className).toBe('jp-mlops-fail');
    expect(rows[0].textContent).toContain('FAIL');
    expect(table.querySelector('b')).toBeNull();
  });
});

describe('status bar', () => {
  it('selects the running runs of one notebook', () => {
    expect(activeRunFilter('/p/train.ipynb')).toBe(
      "tags.`mlops.notebook.path` = '/p/train.ipynb' and attributes.status = 'RUNNING'"
    );
  });

  it('gives up on paths MLflow cannot quote', () => {
    expect(activeRunFilter("/p/it's.ipynb")).toBeNull();
  });
});

describe('chart legends', () => {
  it('leaves the colour key out of a chart when the view shows one for all', () => {
    const series = [
      { label: 'a-very-long-run-name-from-a-sweep', points: [{ step: 0, value: 1, timestamp: 0 }] },
      { label: 'b', points: [{ step: 0, value: 2, timestamp: 0 }] }
    ];
    expect(lineChart('acc', series).querySelectorAll('.jp-mlops-legend')).toHaveLength(1);
    expect(lineChart('acc', series, { legend: false }).querySelector('.jp-mlops-legend')).toBe(
      null
    );
    const key = seriesLegend(series.map(s => s.label));
    const items = [...key.querySelectorAll('.jp-mlops-legend-item')] as HTMLElement[];
    expect(items.map(i => [i.textContent, i.title])).toEqual([
      ['a-very-long-run-name-from-a-sweep', 'a-very-long-run-name-from-a-sweep'],
      ['b', 'b']
    ]);
  });
});
