import { handshakeProblem, RunsModel } from '../model';
import {
  IArtifact,
  IExperiment,
  IMlopsSource,
  IRunDetail,
  IRunRow,
  IRunsPage,
  IRunsQuery,
  IServerStatus,
  MetricHistory,
  VERSION
} from '../tokens';

function row(i: number): IRunRow {
  return {
    run_id: `r${i}`,
    name: `run-${i}`,
    experiment_id: '1',
    status: 'FINISHED',
    start_time: 1000 + i,
    end_time: 2000 + i,
    metrics: { acc: i / 10 },
    params: { lr: String(i) },
    tags: {}
  };
}

/** An in-memory store paging like the server: tokens are offsets. */
class MemorySource implements IMlopsSource {
  queries: IRunsQuery[] = [];
  failures = 0;
  experimentsList: IExperiment[] = [
    {
      experiment_id: '1',
      name: 'a',
      artifact_location: '',
      creation_time: 0,
      last_update_time: 0,
      tags: {}
    },
    {
      experiment_id: '2',
      name: 'b',
      artifact_location: '',
      creation_time: 0,
      last_update_time: 0,
      tags: {}
    }
  ];
  rows = Array.from({ length: 7 }, (_, i) => row(i));

  async status(): Promise<IServerStatus> {
    return {
      version: VERSION,
      api: 1,
      root: '/',
      server_root: '/',
      tracking_uri: '',
      features: { models: false, data: false, headless: false }
    };
  }
  async experiments(): Promise<IExperiment[]> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('store unreachable');
    }
    return this.experimentsList;
  }
  async runs(query: IRunsQuery): Promise<IRunsPage> {
    this.queries.push(query);
    const start = query.pageToken ? Number(query.pageToken) : 0;
    const end = start + query.maxResults;
    return {
      runs: this.rows.slice(start, end),
      next_page_token: end < this.rows.length ? String(end) : null
    };
  }
  run(): Promise<IRunDetail> {
    throw new Error('unused');
  }
  async metricHistory(): Promise<MetricHistory> {
    return {};
  }
  async artifacts(): Promise<IArtifact[]> {
    return [];
  }
  async artifactText(): Promise<string> {
    return '';
  }
  async artifactBytes(): Promise<ArrayBuffer> {
    return new ArrayBuffer(0);
  }
  artifactUrl(): string {
    return '';
  }
  models = async () => [];
  modelHistory = async () => [];
  modelMonitoring = async () => [];
  promote = async (): Promise<any> => ({});
  snapshots = async () => [];
  diff = async () => ({});
  drift = async () => ({});
  validate = async (): Promise<any> => ({});
  notebookParams = async () => [];
  startHeadless = async (): Promise<any> => ({});
  headlessRuns = async () => [];
  cancelHeadless = async (): Promise<any> => ({});
  reproduce = async (): Promise<any> => ({});
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('RunsModel', () => {
  let source: MemorySource;
  let model: RunsModel;

  beforeEach(() => {
    source = new MemorySource();
    model = new RunsModel(source, { interval: 20, max: 100 });
    model.setPageSize(3);
  });

  afterEach(() => model.dispose());

  it('picks the first experiment and fetches its first page', async () => {
    await model.refresh();
    expect(model.experimentId).toBe('1');
    expect(model.runs.map(r => r.run_id)).toEqual(['r0', 'r1', 'r2']);
    expect(model.page).toBe(1);
    expect(model.hasNext).toBe(true);
    expect(model.hasPrevious).toBe(false);
  });

  it('pages forward and back with the server tokens', async () => {
    await model.refresh();
    model.nextPage();
    await model.refresh();
    expect(model.runs.map(r => r.run_id)).toEqual(['r3', 'r4', 'r5']);
    model.nextPage();
    await model.refresh();
    expect(model.runs.map(r => r.run_id)).toEqual(['r6']);
    expect(model.hasNext).toBe(false);
    expect(model.page).toBe(3);
    model.previousPage();
    await model.refresh();
    expect(model.runs.map(r => r.run_id)).toEqual(['r3', 'r4', 'r5']);
    expect(source.queries[source.queries.length - 1].pageToken).toBe('3');
  });

  it('restarts from page one on a new filter, order or experiment', async () => {
    await model.refresh();
    model.nextPage();
    await model.refresh();
    model.setFilter('metrics.acc > 0.2');
    await model.refresh();
    const last = source.queries[source.queries.length - 1];
    expect(last.pageToken).toBeNull();
    expect(last.filter).toBe('metrics.acc > 0.2');
    expect(model.page).toBe(1);
    model.setExperiment('2');
    await model.refresh();
    expect(source.queries[source.queries.length - 1].experimentIds).toEqual(['2']);
  });

  it('flips the sort direction when the same column is chosen again', () => {
    model.sortBy('metrics.acc');
    expect(model.orderBy).toBe('metrics.acc DESC');
    model.sortBy('metrics.acc');
    expect(model.orderBy).toBe('metrics.acc ASC');
    model.sortBy('attributes.run_name');
    expect(model.orderBy).toBe('attributes.run_name DESC');
  });

  it('keeps the last error until a refresh succeeds, rejecting so the poll backs off', async () => {
    source.failures = 1;
    await expect(model.refresh()).rejects.toThrow('store unreachable');
    expect(model.error).toBe('store unreachable');
    await model.refresh();
    expect(model.error).toBeNull();
  });

  it('clears the compare selection when the experiment changes', async () => {
    await model.refresh();
    model.toggleSelected('r0');
    model.toggleSelected('r1');
    model.toggleSelected('r1');
    expect([...model.selected]).toEqual(['r0']);
    model.setExperiment('2');
    expect(model.selected.size).toBe(0);
  });

  it('stands by while hidden and refreshes once shown', async () => {
    await model.start();
    await sleep(80);
    expect(source.queries.length).toBe(0);
    model.setVisible(true);
    await sleep(80);
    expect(source.queries.length).toBeGreaterThan(0);
    model.setVisible(false);
    await sleep(30);
    const seen = source.queries.length;
    await sleep(80);
    expect(source.queries.length).toBe(seen);
  });
});

describe('handshakeProblem', () => {
  const status = (version: string): IServerStatus => ({
    version,
    api: 1,
    root: '/',
    server_root: '/',
    tracking_uri: '',
    features: { models: false, data: false, headless: false }
  });

  it('accepts the same version', () => {
    expect(handshakeProblem(status(VERSION))).toBeNull();
  });

  it('names both versions and the fix when they differ', () => {
    const message = handshakeProblem(status('0.0.1'))!;
    expect(message).toContain('0.0.1');
    expect(message).toContain(VERSION);
    expect(message).toContain('restart JupyterLab');
  });
});
