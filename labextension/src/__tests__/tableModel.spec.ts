import {
  axisPositions,
  buildAxis,
  defaultColumns,
  FIRST_PAGE,
  flattenGroups,
  groupRuns,
  memoryKey,
  orderTerm,
  RunsTableModel
} from '../tableModel';
import { baseRanks, compareText, sortIndices } from '../tableSort';
import {
  CellValue,
  IColumnMemory,
  IRunsTable,
  IRunsTableQuery,
  ITableSource
} from '../tableTokens';

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
    const runs = RUNS.slice(0, query.limit ?? RUNS.length);
    const columns = Object.fromEntries(query.columns.map(c => [c, runs.map(pick[c])]));
    return {
      total: RUNS.length,
      truncated: runs.length < RUNS.length,
      version: 1,
      keys: { metrics: ['acc'], params: ['depth'], tags: ['note'] },
      runs: {
        run_id: runs.map(r => r.id),
        name: runs.map(r => `name-${r.id}`),
        status: runs.map(() => 'FINISHED'),
        start_time: runs.map(r => 1000 + RUNS.indexOf(r)),
        end_time: runs.map(() => null),
        experiment_id: runs.map(() => '1'),
        parent_id: runs.map(r => r.parent)
      },
      columns,
      nonfinite: []
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

describe('sorting in the browser', () => {
  /** A model that has read its runs from `source`, and how many requests that took. */
  async function opened(source: MemoryTable): Promise<[RunsTableModel, number]> {
    const model = new RunsTableModel(source, ['1'], null);
    await model.refresh();
    return [model, source.queries.length];
  }

  it('sorts every loaded run as the server would, without a request', async () => {
    const source = new MemoryTable();
    const [model, asked] = await opened(source);
    const changes: string[] = [];
    model.changed.connect((_, c) => changes.push(c));
    await model.sortBy('metrics.acc');
    expect(model.orderBy).toBe('metrics.acc DESC');
    // deep (0.95) sorts first but stays under m2, under the sweep; runs without acc go last
    expect(shown(model)).toEqual(['solo', 'sweep', '  m2', '    deep', '  m1']);
    await model.sortBy('metrics.acc');
    // a parent stays where its own value puts it (the sweep has no acc)
    expect(shown(model)).toEqual(['solo', 'sweep', '  m1', '  m2', '    deep']);
    await model.sortBy('attributes.run_name');
    expect(shown(model)).toEqual(['sweep', '  m2', '    deep', '  m1', 'solo']);
    expect(source.queries.length).toBe(asked);
    expect(changes).toEqual(['order', 'order', 'order']);
  });

  it('asks the server when NaN or infinities were sent as null', async () => {
    const source = new MemoryTable();
    const runsTable = source.runsTable.bind(source);
    source.runsTable = async q => ({ ...(await runsTable(q)), nonfinite: ['metrics.acc'] });
    const [model, asked] = await opened(source);
    await model.sortBy('metrics.acc');
    expect(source.queries.slice(asked).map(q => q.orderBy)).toEqual(['metrics.acc DESC']);
    await model.sortBy('params.depth'); // strings sort here again
    expect(source.queries.length).toBe(asked + 1);
  });

  function table(values: CellValue[], start: number[], ids: string[]): IRunsTable {
    return {
      total: values.length,
      truncated: false,
      version: 1,
      keys: { metrics: [], params: [], tags: [] },
      runs: {
        run_id: ids,
        name: ids,
        status: ids.map(() => 'FINISHED'),
        start_time: start,
        end_time: start.map((s, i) => (i % 2 ? null : s + 1000 * i)),
        experiment_id: ids.map(() => '1'),
        parent_id: ids.map(() => null)
      },
      columns: { 'params.p': values }
    };
  }

  it('keeps ties newest first and missing values last in both directions', () => {
    const t = table(['b', null, 'a', 'b', null], [5, 9, 5, 7, 1], ['r1', 'r2', 'r3', 'r0', 'r4']);
    // base order: r2 (9), r0 (7), r1 and r3 (5, by id), r4 (1)
    expect(Array.from(baseRanks(t))).toEqual([2, 0, 3, 1, 4]);
    expect(sortIndices(t, 'params.p ASC')).toEqual([2, 3, 0, 1, 4]);
    expect(sortIndices(t, 'params.p DESC')).toEqual([3, 0, 2, 1, 4]);
    // duration: unfinished runs (odd ones here) last
    expect(sortIndices(t, 'duration DESC')).toEqual([4, 2, 0, 1, 3]);
    expect(sortIndices({ ...t, truncated: true }, 'params.p ASC')).toBeNull();
    expect(sortIndices(t, 'params.missing ASC')).toBeNull();
  });

  it('compares text by code point, as the server does', () => {
    expect(compareText('\uffff', '\u{10000}')).toBeLessThan(0);
    expect(compareText('a', 'ab')).toBeLessThan(0);
    expect(compareText('B', 'a')).toBeLessThan(0);
    expect(compareText('same', 'same')).toBe(0);
  });
});

describe('first page', () => {
  /** 250 top-level runs and a parent whose 3 nested runs started before it. */
  class BigTable implements ITableSource {
    queries: IRunsTableQuery[] = [];
    async runsTable(query: IRunsTableQuery): Promise<IRunsTable> {
      this.queries.push(query);
      const n = 254;
      const ids = Array.from({ length: n }, (_, i) => `r${String(i).padStart(3, '0')}`);
      const parents = ids.map((_, i) => (i >= 1 && i <= 3 ? 'r004' : null));
      let order = ids.map((_, i) => i);
      if (query.nested) {
        order = [0, 4, 1, 2, 3, ...order.slice(5)];
      }
      order = order.slice(0, query.limit ?? n);
      return {
        total: n,
        truncated: order.length < n,
        version: 1,
        keys: { metrics: ['acc'], params: [], tags: [] },
        runs: {
          run_id: order.map(i => ids[i]),
          name: order.map(i => ids[i]),
          status: order.map(() => 'FINISHED'),
          start_time: order.map(i => 10000 - i),
          end_time: order.map(() => null),
          experiment_id: order.map(() => '1'),
          parent_id: order.map(i => parents[i])
        },
        columns: Object.fromEntries(query.columns.map(c => [c, order.map(i => i / n)])),
        nonfinite: []
      };
    }
  }

  it('shows the top of the grouped table first, then every run', async () => {
    const source = new BigTable();
    const model = new RunsTableModel(source, ['1'], null);
    const seen: string[][] = [];
    model.changed.connect(() =>
      seen.push([String(model.partial), ...shown(model).slice(0, 5), String(model.rows.length)])
    );
    await model.refresh(true);
    expect(source.queries.map(q => [q.limit ?? 'all', q.nested ?? false])).toEqual([
      [1, false],
      [FIRST_PAGE, true],
      ['all', false]
    ]);
    const top = ['r000', 'r004', '  r001', '  r002', '  r003'];
    expect(seen).toEqual([
      ['true', ...top, String(FIRST_PAGE)],
      ['false', ...top, '254']
    ]);
    expect(model.columns).toEqual(['metrics.acc']);
    await model.sortBy('attributes.start_time'); // ASC now: every run is loaded
    expect(shown(model).slice(-5)).toEqual(['r004', '  r003', '  r002', '  r001', 'r000']);
    expect(source.queries).toHaveLength(3);
  });

  it('keeps the selection while only the first page is shown', async () => {
    const source = new BigTable();
    const model = new RunsTableModel(source, ['1'], null);
    await model.refresh();
    model.toggleSelected('r250');
    let partialSelection: string[] = [];
    model.changed.connect(() => {
      if (model.partial) {
        partialSelection = [...model.selected];
      }
    });
    await model.setFilter('metrics.acc > 0');
    expect(partialSelection).toEqual(['r250']);
    expect([...model.selected]).toEqual(['r250']);
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
