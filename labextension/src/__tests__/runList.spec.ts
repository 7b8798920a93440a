import { keyMetric, metricsByUse, paramsLine, runRows, sortedMetric } from '../runList';
import { IRunRow } from '../tokens';

function run(id: string, metrics: Record<string, number | null>, parent?: string): IRunRow {
  return {
    run_id: id,
    name: id,
    experiment_id: '1',
    status: 'FINISHED',
    start_time: 1,
    end_time: 2,
    metrics,
    params: {},
    tags: parent ? { 'mlflow.parentRunId': parent } : {}
  };
}

describe('the sidebar runs list', () => {
  it('reads the sorted metric, quoted or not', () => {
    expect(sortedMetric('metrics.acc DESC')).toBe('acc');
    expect(sortedMetric('metrics.`val loss` ASC')).toBe('val loss');
    expect(sortedMetric('attributes.start_time DESC')).toBeNull();
  });

  it('shows the picked metric, else the sorted one, else the one most runs logged', () => {
    const runs = [run('a', { loss: 1, acc: 0.5 }), run('b', { acc: 0.7 }), run('c', { f1: null })];
    expect(metricsByUse(runs)).toEqual(['acc', 'loss']);
    expect(keyMetric(runs, 'attributes.start_time DESC', null)).toBe('acc');
    expect(keyMetric(runs, 'metrics.loss ASC', null)).toBe('loss');
    expect(keyMetric(runs, 'metrics.loss ASC', 'acc')).toBe('acc');
    expect(keyMetric(runs, 'attributes.start_time DESC', 'gone')).toBe('acc');
    expect(keyMetric([run('x', {})], '', null)).toBeNull();
  });

  it('folds nested runs under their parent until it is expanded', () => {
    const runs = [run('c1', {}, 'p'), run('p', {}), run('q', {}), run('c2', {}, 'p')];
    const folded = runRows(runs, new Set());
    expect(folded.map(r => [runs[r.index].run_id, r.depth, r.childCount])).toEqual([
      ['p', 0, 2],
      ['q', 0, 0]
    ]);
    const open = runRows(runs, new Set(['p']));
    expect(open.map(r => [runs[r.index].run_id, r.depth])).toEqual([
      ['p', 0],
      ['c1', 1],
      ['c2', 1],
      ['q', 0]
    ]);
    // A child whose parent is not on this page stands on its own.
    expect(runRows([run('c1', {}, 'elsewhere')], new Set()).length).toBe(1);
  });

  it('writes params on one line', () => {
    expect(paramsLine({ lr: '0.1', model: 'rf' })).toBe('lr=0.1 model=rf');
  });
});
