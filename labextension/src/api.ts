/**
 * Typed wrappers around the server extension's REST API.  Widgets never call
 * `fetch` themselves: they go through an `IMlopsSource`, which this module
 * implements.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IArtifact,
  IExperiment,
  IMlopsSource,
  IRunDetail,
  IRunsPage,
  IRunsQuery,
  IServerStatus,
  MetricHistory
} from './tokens';

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
    throw new ServerConnection.ResponseError(response, message);
  }
  return body as T;
}

/** The REST implementation of `IMlopsSource`. */
export class RestSource implements IMlopsSource {
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
    const response = await ServerConnection.makeRequest(
      this.artifactUrl(runId, path),
      { method: 'GET' },
      this._settings
    );
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new ServerConnection.ResponseError(response, body?.message);
    }
    return response.text();
  }

  artifactUrl(runId: string, path: string, download = false): string {
    const params: [string, string][] = [['path', path]];
    if (download) {
      params.push(['download', '1']);
    }
    return url(this._settings, `runs/${encodeURIComponent(runId)}/artifact`, params);
  }

  private _get<T>(path: string, params: [string, string][] = []): Promise<T> {
    return requestAPI<T>(path, params, { method: 'GET' }, this._settings);
  }
}
