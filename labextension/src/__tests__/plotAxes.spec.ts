import { axisTicks, fitLabel, linePoints } from '../plotCanvas';
import { defaultPair } from '../scatter';
import { buildAxis } from '../tableModel';

describe('chart axes', () => {
  it('labels a single-value axis once, where its runs are drawn', () => {
    expect(axisTicks(buildAxis('params.lr', ['0.1', '0.1']))).toEqual([{ f: 0.5, label: '0.1' }]);
    expect(axisTicks(buildAxis('params.model', ['rf', 'rf']))).toEqual([{ f: 0.5, label: 'rf' }]);
    expect(axisTicks(buildAxis('metrics.acc', [0.5, 0.9]))).toEqual([
      { f: 0, label: '0.5' },
      { f: 1, label: '0.9' }
    ]);
  });

  it('labels every category of a short list, the ends of a long one', () => {
    const three = axisTicks(buildAxis('params.model', ['b', 'a', 'c']));
    expect(three.map(t => [t.f, t.label])).toEqual([
      [0, 'a'],
      [0.5, 'b'],
      [1, 'c']
    ]);
    const many = axisTicks(buildAxis('params.seed', 'abcdefghijkl'.split('')));
    expect(many.map(t => t.label)).toEqual(['a', 'l']);
  });

  it('cuts a long label to the room it has, with an ellipsis', () => {
    expect(fitLabel('rf', 100)).toBe('rf');
    const cut = fitLabel('GradientBoostingClassifier(max_depth=3)', 65);
    expect(cut).toBe('GradientB…');
    expect(cut.length * 6.5).toBeLessThanOrEqual(65);
  });

  it('bridges a missing value instead of breaking the line', () => {
    expect(linePoints([0.1, NaN, 0.5, NaN])).toEqual([
      [0, 0.1],
      [2, 0.5]
    ]);
    expect(linePoints([NaN, NaN])).toEqual([]);
  });
});

describe('the scatter', () => {
  it('opens on two numeric columns, not a metric against a text param', () => {
    const axes = [
      buildAxis('metrics.acc', [0.5, 0.7]),
      buildAxis('params.model', ['rf', 'svm']),
      buildAxis('params.lr', ['0.1', '0.01']),
      buildAxis('metrics.loss', [1, 2])
    ];
    expect(defaultPair(axes)).toEqual(['params.lr', 'metrics.acc']);
    expect(defaultPair([axes[1], axes[3], axes[0]])).toEqual(['metrics.acc', 'metrics.loss']);
    expect(defaultPair([axes[1], axes[0]])).toEqual(['params.model', 'metrics.acc']);
  });
});
