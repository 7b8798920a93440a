/**
 * A model's live performance from its prediction log (`GET models/{name}/performance`):
 * per version and role (champion, challenger, batch) a summary table, and SVG charts of the
 * feedback metric, label coverage and requests over time, champion beside challenger.
 * No JupyterLab imports: the main-area command lives in `performanceCommand.ts`.
 */
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { ISeries, lineChart, seriesLegend } from './charts';
import { formatAbsolute } from './dates';
import { formatNumber, h, replaceChildren } from './elements';

export interface IPerformanceBucket {
  start: string;
  end: string;
}

export interface IPerformancePoint {
  requests: number;
  labels: number;
  coverage: number | null;
  metrics: Record<string, number | null>;
}

export interface IVersionPerformance {
  version: string;
  role: string;
  task: string | null;
  requests: number;
  labels: number;
  coverage: number | null;
  metrics: Record<string, number | null>;
  series: IPerformancePoint[];
}

export interface IPerformanceReport {
  model: string;
  window: number;
  buckets: IPerformanceBucket[];
  versions: IVersionPerformance[];
}

export interface IPerformanceSource {
  modelPerformance(name: string): Promise<IPerformanceReport>;
}

/** The feedback metric charted for each task (the others are in the table). */
const MAIN_METRIC: Record<string, string> = { classification: 'accuracy', regression: 'mae' };

/** One chart's series: a line per version and role, x the end of each bucket (epoch ms). */
export interface IPerformanceCharts {
  metric: string;
  charts: { title: string; series: ISeries[] }[];
}

/** The report as chart series: the feedback metric, label coverage (%) and requests. */
export function performanceCharts(report: IPerformanceReport): IPerformanceCharts {
  const task = report.versions.find(v => v.task)?.task ?? 'classification';
  const metric = MAIN_METRIC[task] ?? 'accuracy';
  const ends = report.buckets.map(b => Date.parse(b.end));
  const line = (pick: (p: IPerformancePoint) => number | null | undefined): ISeries[] =>
    report.versions.map(v => ({
      label: `v${v.version} ${v.role}`,
      points: v.series.map((p, i) => ({ step: ends[i], value: pick(p) ?? null }))
    }));
  return {
    metric,
    charts: [
      { title: `${metric} (labelled predictions)`, series: line(p => p.metrics[metric]) },
      {
        title: 'label coverage (%)',
        series: line(p => (p.coverage === null ? null : p.coverage * 100))
      },
      { title: 'requests', series: line(p => p.requests) }
    ]
  };
}

function percent(share: number | null): string {
  return share === null ? '' : `${Math.round(share * 100)}%`;
}

/** Each version and role: requests, labels, coverage and the metrics over the window. */
export function performanceTable(report: IPerformanceReport): HTMLElement {
  if (report.versions.length === 0) {
    return h(
      'p',
      { className: 'jp-mlops-empty' },
      'No predictions logged yet: jupyter mlops serve or jupyter mlops predict logs them.'
    );
  }
  const names = [...new Set(report.versions.flatMap(v => Object.keys(v.metrics)))].sort();
  const head = ['v', 'role', 'requests', 'labels', 'coverage', ...names];
  const rows = report.versions.map(v =>
    h(
      'tr',
      {
        className: 'jp-mlops-performance-row',
        attrs: { 'data-version': v.version, 'data-role': v.role }
      },
      h('td', {}, v.version),
      h('td', {}, v.role),
      h('td', { className: 'jp-mlops-num' }, formatNumber(v.requests)),
      h('td', { className: 'jp-mlops-num' }, formatNumber(v.labels)),
      h('td', { className: 'jp-mlops-num' }, percent(v.coverage)),
      ...names.map(k => h('td', { className: 'jp-mlops-num' }, formatNumber(v.metrics[k])))
    )
  );
  return h(
    'table',
    {
      className: 'jp-mlops-table jp-mlops-performance',
      title: `metrics over the last ${report.window} labelled predictions`
    },
    h('thead', {}, h('tr', {}, ...head.map(c => h('th', {}, c)))),
    h('tbody', {}, ...rows)
  );
}

/** A bucket's end as a short local time (the day too when the span is over a day). */
function timeLabel(report: IPerformanceReport): (ms: number) => string {
  const ends = report.buckets.map(b => Date.parse(b.end));
  const days = ends.length ? (ends[ends.length - 1] - ends[0]) / 86_400_000 : 0;
  return (ms: number) =>
    days >= 1
      ? new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
      : new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** The main-area view: the table, then the three charts with one colour key. */
export class ModelPerformanceWidget extends Widget {
  constructor(
    private readonly _source: IPerformanceSource,
    readonly model: string
  ) {
    super();
    this.id = `jp-mlops-performance-${model}`.replace(/[^A-Za-z0-9_-]/g, '_');
    this.addClass('jp-mlops-performance-view');
    this.title.label = `Performance ${model}`;
    this.title.closable = true;
    // Labels keep arriving: read again every 30 s while the view is shown.
    this._poll = new Poll({
      factory: () => this.load(),
      frequency: { interval: 30_000, backoff: true, max: 300_000 },
      name: 'jupyter-mlops:performance',
      standby: 'when-hidden',
      auto: false
    });
  }

  /** Load now, then keep the view current while it is shown. */
  async start(): Promise<void> {
    await this.load();
    void this._poll.start();
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  async load(): Promise<void> {
    try {
      const report = await this._source.modelPerformance(this.model);
      const refresh = h('button', { className: 'jp-mlops-button' }, 'Refresh');
      refresh.addEventListener('click', () => void this.load());
      const { charts } = performanceCharts(report);
      const span = report.buckets.length
        ? `${formatAbsolute(Date.parse(report.buckets[0].start))} – ` +
          formatAbsolute(Date.parse(report.buckets[report.buckets.length - 1].end))
        : '';
      const xLabel = timeLabel(report);
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-toolbar' }, refresh),
        h('h2', {}, `Live performance of ${report.model}`),
        span ? h('p', { className: 'jp-mlops-note' }, span) : null,
        performanceTable(report),
        report.versions.length
          ? h(
              'div',
              { className: 'jp-mlops-charts' },
              ...charts.map(c => lineChart(c.title, c.series, { legend: false, xLabel }))
            )
          : null,
        report.versions.length
          ? seriesLegend(report.versions.map(v => `v${v.version} ${v.role}`))
          : null
      );
      this.node.dataset.ready = 'true';
    } catch (error) {
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }

  private _poll: Poll;
}
