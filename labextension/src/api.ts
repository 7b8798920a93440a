/**
 * Typed wrappers around the server extension's REST API.  Widgets never call
 * `fetch` themselves: they go through an `IMlopsSource`, which this module
 * implements.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  HistoryEntry,
  MonitoringEntry,
  IArtifact,
  IExperiment,
  IHeadlessRun,
  IReproduceOptions,
  IModelVersion,
  INotebookParam,
  IPromotion,
  IPromotionResult,
  ISnapshot,
  IMlopsSource,
  IRunDetail,
  IRunsPage,
  IRunsQuery,
  IServerStatus,
  IValidationReport,
  ICronPreview,
  INewSchedule,
  ISchedule,
  IScheduleList,
  IScheduleRun,
  IScheduleSource,
  MetricHistory
} from './tokens';
import { IRunsTable, IRunsTableQuery, ITableSource } from './tableTokens';
import { IRunDiff, IRunDiffSource } from './diffTokens';
import { IModelCard, IModelCardSource } from './modelCard';
import { IPerformanceReport, IPerformanceSource } from './performance';

const PREFIX = 'mlops/api/v1';

/** Error raised when the server extension does not answer at all. */
export class ExtensionMissingError extends Error {}

function url(
  settings: ServerConnection.ISettings,
  path: string,
  params: [string, string][] = []
): string {
  const query = params
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const base = URLExt.join(settings.baseUrl, PREFIX, path);
  return query ? `${base}?${query}` : base;
}

/**
 * Call the API and parse its JSON answer.
 *
 * Throws `ServerConnection.ResponseError` carrying the server's one-line
 * `message`, or `ExtensionMissingError` when the route does not exist.
 */
export async function requestAPI<T>(
  path: string,
  params: [string, string][] = [],
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url(settings, path, params), init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (response.status === 404 && (body === null || !body.message)) {
      throw new ExtensionMissingError(
        'The jupyter-mlops server extension is not running. Install it in the ' +
          "server's environment (pip install jupyter-mlops), run " +
          '`jupyter server extension enable jupyter_mlops`, then restart JupyterLab.'
      );
    }
    const message = body?.message ?? `${response.status} ${response.statusText}`;
    const error = new ServerConnection.ResponseError(response, message);
    if (body?.report) {
      (error as any).report = body.report;
    }
    throw error;
  }
  return body as T;
}

/** The REST implementation of `IMlopsSource`. */
export class RestSource
  implements
    IMlopsSource,
    IScheduleSource,
    ITableSource,
    IRunDiffSource,
    IModelCardSource,
    IPerformanceSource
{
  constructor(
    private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  status(): Promise<IServerStatus> {
    return this._get<IServerStatus>('status');
  }

  async experiments(): Promise<IExperiment[]> {
    const body = await this._get<{ experiments: IExperiment[] }>('experiments');
    return body.experiments;
  }

  runs(query: IRunsQuery): Promise<IRunsPage> {
    const params: [string, string][] = query.experimentIds.map(id => ['experiment_id', id]);
    if (query.filter.trim()) {
      params.push(['filter', query.filter.trim()]);
    }
    if (query.orderBy) {
      params.push(['order_by', query.orderBy]);
    }
    params.push(['max_results', String(query.maxResults)]);
    if (query.pageToken) {
      params.push(['page_token', query.pageToken]);
    }
    return this._get<IRunsPage>('runs', params);
  }

  /** Every matching run as columns (`GET runs-table`). */
  runsTable(query: IRunsTableQuery): Promise<IRunsTable> {
    const params: [string, string][] = query.experimentIds.map(id => ['experiment_id', id]);
    if (query.filter.trim()) {
      params.push(['filter', query.filter.trim()]);
    }
    if (query.orderBy) {
      params.push(['order_by', query.orderBy]);
    }
    params.push(...query.columns.map(c => ['column', c] as [string, string]));
    if (query.limit) {
      params.push(['limit', String(query.limit)]);
    }
    if (query.nested) {
      params.push(['nested', 'true']);
    }
    return this._get<IRunsTable>('runs-table', params);
  }

  modelCard(name: string, version: string): Promise<IModelCard> {
    return this._get<IModelCard>(`models/${encodeURIComponent(name)}/card`, [['version', version]]);
  }

  /** Live performance per version and role over time (`GET models/{name}/performance`). */
  modelPerformance(name: string): Promise<IPerformanceReport> {
    return this._get<IPerformanceReport>(`models/${encodeURIComponent(name)}/performance`);
  }

  runDiff(a: string, b: string): Promise<IRunDiff> {
    return this._get<IRunDiff>('run-diff', [
      ['a', a],
      ['b', b]
    ]);
  }

  run(runId: string): Promise<IRunDetail> {
    return this._get<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
  }

  async metricHistory(runId: string, keys: string[] = []): Promise<MetricHistory> {
    const body = await this._get<{ metrics: MetricHistory }>(
      `runs/${encodeURIComponent(runId)}/metric-history`,
      keys.map(k => ['key', k])
    );
    return body.metrics;
  }

  async artifacts(runId: string, path: string): Promise<IArtifact[]> {
    const body = await this._get<{ files: IArtifact[] }>(
      `runs/${encodeURIComponent(runId)}/artifacts`,
      [['path', path]]
    );
    return body.files;
  }

  async artifactText(runId: string, path: string): Promise<string> {
    return (await this._artifact(runId, path)).text();
  }

  async artifactBytes(runId: string, path: string): Promise<ArrayBuffer> {
    return (await this._artifact(runId, path)).arrayBuffer();
  }

  artifactUrl(runId: string, path: string, download = false): string {
    const params: [string, string][] = [['path', path]];
    if (download) {
      params.push(['download', '1']);
    }
    return url(this._settings, `runs/${encodeURIComponent(runId)}/artifact`, params);
  }

  async models(): Promise<IModelVersion[]> {
    return (await this._get<{ versions: IModelVersion[] }>('models')).versions;
  }

  async modelHistory(name: string): Promise<HistoryEntry[]> {
    const path = `models/${encodeURIComponent(name)}/history`;
    return (await this._get<{ history: HistoryEntry[] }>(path)).history;
  }

  async modelMonitoring(name: string): Promise<MonitoringEntry[]> {
    const path = `models/${encodeURIComponent(name)}/monitoring`;
    return (await this._get<{ monitoring: MonitoringEntry[] }>(path)).monitoring;
  }

  async promote(name: string, promotion: IPromotion): Promise<IPromotionResult> {
    const path = `models/${encodeURIComponent(name)}/promote`;
    try {
      const body = await this._send<{ report: IPromotionResult['report'] }>(
        'POST',
        path,
        promotion
      );
      return { promoted: true, message: '', report: body.report };
    } catch (error) {
      const response = (error as ServerConnection.ResponseError).response;
      if (response?.status === 409 && (error as any).report) {
        return {
          promoted: false,
          message: (error as Error).message,
          report: (error as any).report
        };
      }
      throw error;
    }
  }

  async snapshots(name?: string): Promise<ISnapshot[]> {
    const params: [string, string][] = name ? [['name', name]] : [];
    return (await this._get<{ snapshots: ISnapshot[] }>('snapshots', params)).snapshots;
  }

  diff(a: string, b: string, key?: string): Promise<Record<string, any>> {
    const params: [string, string][] = [
      ['a', a],
      ['b', b]
    ];
    if (key) {
      params.push(['key', key]);
    }
    return this._get('snapshots/diff', params);
  }

  drift(reference: string, current: string): Promise<Record<string, any>> {
    return this._get('snapshots/drift', [
      ['reference', reference],
      ['current', current]
    ]);
  }

  validate(data: string, against: string): Promise<IValidationReport> {
    return this._get('snapshots/validate', [
      ['data', data],
      ['against', against]
    ]);
  }

  async notebookParams(path: string): Promise<INotebookParam[]> {
    const body = await this._get<{ parameters: INotebookParam[] }>('notebooks/parameters', [
      ['path', path]
    ]);
    return body.parameters;
  }

  startHeadless(path: string, params: Record<string, unknown>): Promise<IHeadlessRun> {
    return this._send<IHeadlessRun>('POST', 'headless', { path, params });
  }

  async headlessRuns(): Promise<IHeadlessRun[]> {
    return (await this._get<{ runs: IHeadlessRun[] }>('headless')).runs;
  }

  cancelHeadless(id: string): Promise<IHeadlessRun> {
    return this._send<IHeadlessRun>('DELETE', `headless/${encodeURIComponent(id)}`);
  }

  reproduce(runId: string, options: IReproduceOptions = {}): Promise<IHeadlessRun> {
    return this._send<IHeadlessRun>('POST', `runs/${encodeURIComponent(runId)}/reproduce`, options);
  }

  schedules(): Promise<IScheduleList> {
    return this._get<IScheduleList>('schedules');
  }

  async scheduleRuns(name: string): Promise<IScheduleRun[]> {
    return (await this._get<{ runs: IScheduleRun[] }>(`schedules/${encodeURIComponent(name)}`))
      .runs;
  }

  addSchedule(schedule: INewSchedule): Promise<ISchedule> {
    return this._send<ISchedule>('POST', 'schedules', schedule);
  }

  scheduleAction(name: string, action: 'pause' | 'resume' | 'run'): Promise<any> {
    return this._send('POST', `schedules/${encodeURIComponent(name)}/${action}`, {});
  }

  removeSchedule(name: string): Promise<ISchedule> {
    return this._send<ISchedule>('DELETE', `schedules/${encodeURIComponent(name)}`);
  }

  previewCron(cron: string, timezone: string): Promise<ICronPreview> {
    return this._get<ICronPreview>('schedules/_preview', [
      ['cron', cron],
      ['timezone', timezone]
    ]);
  }

  private async _artifact(runId: string, path: string): Promise<Response> {
    const response = await ServerConnection.makeRequest(
      this.artifactUrl(runId, path),
      { method: 'GET' },
      this._settings
    );
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new ServerConnection.ResponseError(response, body?.message);
    }
    return response;
  }

  private _send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    return requestAPI<T>(path, [], init, this._settings);
  }

  private _get<T>(path: string, params: [string, string][] = []): Promise<T> {
    return requestAPI<T>(path, params, { method: 'GET' }, this._settings);
  }
}
