/**
 * Shared names and types of the jupyter-mlops labextension.
 *
 * The shapes mirror `specification/openapi.yaml` of the server extension.
 */

/** Version of this labextension; must equal the Python package's version. */
export const VERSION = '0.1.0';

/** REST API version this frontend speaks. */
export const API_VERSION = 1;

export const PLUGIN_ID = 'jupyter-mlops:plugin';

export namespace CommandIDs {
  export const openSidebar = 'mlops:open-sidebar';
  export const openRun = 'mlops:open-run';
  export const compareRuns = 'mlops:compare-runs';
  export const refresh = 'mlops:refresh';
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface IServerStatus {
  version: string;
  api: number;
  root: string;
  tracking_uri: string;
  features: { models: boolean; data: boolean; headless: boolean };
}

export interface IExperiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
}

export interface IRunRow {
  run_id: string;
  name: string;
  experiment_id: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  metrics: Record<string, number | null>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

export interface IDatasetInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string;
  profile: string;
  tags: Record<string, string>;
}

export interface IRunDetail extends IRunRow {
  artifact_uri: string;
  lifecycle_stage: string;
  inputs: IDatasetInput[];
}

export interface IRunsPage {
  runs: IRunRow[];
  next_page_token: string | null;
}

export interface IRunsQuery {
  experimentIds: string[];
  filter: string;
  orderBy: string;
  maxResults: number;
  pageToken: string | null;
}

export interface IPoint {
  step: number;
  value: number | null;
  timestamp: number;
}

export type MetricHistory = Record<string, IPoint[]>;

export interface IArtifact {
  path: string;
  is_dir: boolean;
  file_size: number | null;
}

/** The calls the models need; `api.ts` implements them over REST, tests in memory. */
export interface IMlopsSource {
  status(): Promise<IServerStatus>;
  experiments(): Promise<IExperiment[]>;
  runs(query: IRunsQuery): Promise<IRunsPage>;
  run(runId: string): Promise<IRunDetail>;
  metricHistory(runId: string, keys?: string[]): Promise<MetricHistory>;
  artifacts(runId: string, path: string): Promise<IArtifact[]>;
  artifactText(runId: string, path: string): Promise<string>;
  artifactUrl(runId: string, path: string, download?: boolean): string;
}
