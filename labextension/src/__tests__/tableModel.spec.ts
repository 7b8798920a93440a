import {
  axisPositions,
  buildAxis,
  defaultColumns,
  flattenGroups,
  groupRuns,
  memoryKey,
  orderTerm,
  RunsTableModel
} from '../tableModel';
import { IColumnMemory, IRunsTable, IRunsTableQuery, ITableSource } from '../tableTokens';

interface IFakeRun {
  id: string;
  parent: string | null;
  acc: number | null;
  depth: string;
}

const RUNS: IFakeRun[] = [
  { id: 'sweep', parent: null, acc: null, depth: '' },
  { id: 'm1', parent: 'sweep', acc: 0.5, depth: '2' },
  { id: 'm2', parent: 'sweep', acc: 0.9, depth: '4' },
  { id: 'solo', parent: null, acc: 0.7, depth: '8' },
  { id: 'deep', parent: 'm2', acc: 0.95, depth: '4' }
];

/** Answers like `GET runs-table`: only the asked columns, in server order. */
class MemoryTable implements ITableSource {
  queries: IRunsTableQuery[] = [];
  async runsTable(query: IRunsTableQuery): Promise<IRunsTable> {
    this.queries.push(query);
    const pick: Record<string, (r: IFakeRun) => number | string | null> = {
      'metrics.acc': r => r.acc,
      'params.depth': r => r.depth || null,
      'tags.note': () => '<img src=x onerror=alert(1)>'
    };
    const columns = Object.fromEntries(query.columns.map(c => [c, RUNS.map(pick[c])]));
    return {
      total: RUNS.length,
      truncated: false,
      version: 1,
      keys: { metrics: ['acc'], params: ['depth'], tags: ['note'] },
      runs: {
        run_id: RUNS.map(r => r.id),
        name: RUNS.map(r => `name-${r.id}`),
        status: RUNS.map(() => 'FINISHED'),
        start_time: RUNS.map((_, i) => 1000 + i),
        end_time: RUNS.map(() => null),
        experiment_id: RUNS.map(() => '1'),
        parent_id: RUNS.map(r => r.parent)
      },
      columns
    };
  }
}

class Memory implements IColumnMemory {
  items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

function shown(model: RunsTableModel): string[] {
  return model.rows.map(r => `${'  '.repeat(r.depth)}${model.table!.runs.run_id[r.index]}`);
}

describe('grouping nested runs', () => {
  const ids = RUNS.map(r => r.id);
  const parents = RUNS.map(r => r.parent);

  it('puts children under their parent, at any depth, in server order', () => {
    const rows = flattenGroups(groupRuns(ids, parents), () => true);
    expect(rows.map(r => [ids[r.index], r.depth])).toEqual([
      ['sweep', 0],
      ['m1', 1],
      ['m2', 1],
      ['deep', 2],
      ['solo', 0]
    ]);
    expect(rows[0].childCount).toBe(2);
  });

  it('hides the children of a collapsed parent', () => {
    const rows = flattenGroups(groupRuns(ids, parents), i => ids[i] !== 'sweep');
    expect(rows.map(r => ids[r.index])).toEqual(['sweep', 'solo']);
    expect(rows[0].expanded).toBe(false);
  });

  it('shows a run whose parent is left out at the top level', () => {
    const rows = flattenGroups(
      groupRuns(ids, parents, i => ids[i] !== 'sweep'),
      () => true
    );
    expect(rows.map(r => [ids[r.index], r.depth])).toEqual([
      ['m1', 0],
      ['m2', 0],
      ['deep', 1],
      ['solo', 0]
    ]);
  });

  it('survives parent links that form a cycle', () => {
    const rows = flattenGroups(groupRuns(['a', 'b'], ['b', 'a']), () => true);
    expect(rows.map(r => r.index).sort()).toEqual([0, 1]);
  });
});

describe('axes', () => {
  it('reads numeric params as numbers and places missing values nowhere', () => {
    const axis = buildAxis('params.depth', ['2', '4', null, '10']);
    expect(axis.numeric).toBe(true);
    expect([axis.min, axis.max]).toEqual([2, 10]);
    const pos = axisPositions(axis, ['2', '4', null, '10']);
    expect(pos[0]).toBe(0);
    expect(pos[1]).toBeCloseTo(0.25);
    expect(Number.isNaN(pos[2])).toBe(true);
    expect(pos[3]).toBe(1);
  });

  it('spreads text values as sorted categories', () => {
    const axis = buildAxis('params.model', ['rf', 'gbm', 'lr', 'rf']);
    expect(axis.numeric).toBe(false);
    expect(axis.categories).toEqual(['gbm', 'lr', 'rf']);
    expect(Array.from(axisPositions(axis, ['gbm', 'rf']))).toEqual([0, 1]);
  });
});

describe('RunsTableModel', () => {
  it('shows the first metrics and params, then remembers picks per experiment', async () => {
    const source = new MemoryTable();
    const memory = new Memory();
    const model = new RunsTableModel(source, ['1'], memory);
    await model.refresh();
    expect(model.columns).toEqual(
      defaultColumns({ metrics: ['acc'], params: ['depth'], tags: [] })
    );
    expect(source.queries[source.queries.length - 1].columns).toEqual([
      'metrics.acc',
      'params.depth'
    ]);
    await model.toggleColumn('tags.note');
    await model.toggleColumn('params.depth');
    expect(JSON.parse(memory.getItem(memoryKey(['1']))!)).toEqual(['metrics.acc', 'tags.note']);
    const again = new RunsTableModel(source, ['1'], memory);
    await again.refresh();
    expect(again.columns).toEqual(['metrics.acc', 'tags.note']);
    expect(again.value('tags.note', 0)).toBe('<img src=x onerror=alert(1)>');
    const other = new RunsTableModel(source, ['2'], memory);
    await other.refresh();
    expect(other.columns).toEqual(['metrics.acc', 'params.depth']);
  });

  it('turns a brush on an axis into a filter of the table', async () => {
    const model = new RunsTableModel(new MemoryTable(), ['1'], null);
    const changes: string[] = [];
    model.changed.connect((_, c) => changes.push(c));
    await model.refresh();
    expect(model.matched).toBe(5);
    // acc runs from 0.5 to 0.95: the top half of the axis holds 0.9 and 0.95
    model.setBrush('metrics.acc', [1, 0.5]);
    expect(model.brushes.get('metrics.acc')).toEqual([0.5, 1]);
    expect(shown(model)).toEqual(['m2', '  deep']);
    expect(model.matched).toBe(2);
    expect(model.compareIds()).toEqual(['m2', 'deep']);
    model.setBrush('params.depth', [0.9, 1]); // depth 8 only: with the acc brush, nothing
    expect(shown(model)).toEqual([]);
    model.clearBrushes();
    expect(model.rows).toHaveLength(5);
    expect(changes).toEqual(['data', 'brush', 'brush', 'brush']);
  });

  it('drops a brush with its column and sends sort and filter to the source', async () => {
    const source = new MemoryTable();
    const model = new RunsTableModel(source, ['1'], null);
    await model.refresh();
    model.setBrush('params.depth', [0, 0.1]);
    await model.setColumns(['metrics.acc']);
    expect(model.brushes.size).toBe(0);
    await model.sortBy('metrics.acc');
    expect(source.queries[source.queries.length - 1].orderBy).toBe('metrics.acc DESC');
    await model.sortBy('metrics.acc');
    expect(model.orderBy).toBe('metrics.acc ASC');
    await model.setFilter("  params.depth = '4' ");
    expect(source.queries[source.queries.length - 1].filter).toBe("params.depth = '4'");
  });

  it('collapses a parent and selects runs for Compare', async () => {
    const model = new RunsTableModel(new MemoryTable(), ['1'], null);
    await model.refresh();
    model.toggleExpanded('sweep');
    expect(shown(model)).toEqual(['sweep', 'solo']);
    model.toggleSelected('solo');
    model.toggleSelected('m1');
    expect(model.compareIds()).toEqual(['solo', 'm1']);
  });

  it('keeps the message of a failed request', async () => {
    const model = new RunsTableModel(
      { runsTable: () => Promise.reject(new Error('bad filter: metrics.acc >>> 1')) },
      ['1'],
      null
    );
    await model.refresh();
    expect(model.error).toBe('bad filter: metrics.acc >>> 1');
  });
});

describe('orderTerm', () => {
  it('quotes keys that are not plain names', () => {
    expect(orderTerm('metrics.acc')).toBe('metrics.acc');
    expect(orderTerm('metrics.val acc')).toBe('metrics.`val acc`');
    expect(orderTerm('attributes.start_time')).toBe('attributes.start_time');
  });
});

describe('watching the store', () => {
  it('reads the runs again only when the index version moved', async () => {
    const source = new MemoryTable();
    const model = new RunsTableModel(source, ['1'], null);
    await model.refresh();
    const full = source.queries.length;
    await model.checkForChanges();
    expect(source.queries.slice(full).map(q => q.limit)).toEqual([1]);
    const runsTable = source.runsTable.bind(source);
    source.runsTable = async q => ({ ...(await runsTable(q)), version: 2 });
    await model.checkForChanges();
    expect(source.queries.slice(full).map(q => q.limit ?? 'all')).toEqual([1, 1, 'all']);
    expect(model.table!.version).toBe(2);
  });
});
