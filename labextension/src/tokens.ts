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
  export const diffRuns = 'mlops:diff-runs';
  export const modelCard = 'mlops:model-card';
  export const modelPerformance = 'mlops:model-performance';
  export const refresh = 'mlops:refresh';
  export const reproduceRun = 'mlops:reproduce-run';
  export const openArtifact = 'mlops:open-artifact';
  export const showSnapshot = 'mlops:show-snapshot';
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface IServerStatus {
  version: string;
  api: number;
  root: string;
  server_root: string;
  tracking_uri: string;
  features: { models: boolean; data: boolean; headless: boolean; schedules?: boolean };
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
  /** The snapshot version (`train@v2`) when the input is one of ours. */
  ref: string | null;
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

/** One registered model version (`metrics.*` keys hold source-run metrics). */
export interface IModelVersion {
  name: string;
  version: number;
  aliases: string;
  created: string;
  run_id: string;
  flavor: string;
  [metric: string]: string | number | null;
}

export interface IGateCheck {
  check: string;
  value: number | null;
  threshold: number | null;
  passed: boolean;
  [extra: string]: unknown;
}

export interface IGateReport {
  model: string;
  version: string;
  passed: boolean;
  promoted_to: string | null;
  previous: string | null;
  checks: IGateCheck[];
}

export interface IPromotion {
  version: number;
  alias: string;
  require: string[];
  beat?: string;
  on?: string;
  lower_is_better?: boolean;
}

/** Outcome of a promotion: refused ones carry the report and the server's message. */
export interface IPromotionResult {
  promoted: boolean;
  message: string;
  report: IGateReport;
}

export type HistoryEntry = Record<string, string | number | null>;

/** One monitoring run of a version (``alert`` is set when an alert of the server logged it). */
export type MonitoringEntry = Record<string, string | number | null>;

export interface ISnapshot {
  ref: string;
  version: number;
  digest: string;
  rows: number;
  cols: number;
  new_bytes: number;
  dedup: number;
  created: string;
}

/** One problem of data validated against a reference snapshot. */
export interface IAnomaly {
  column: string;
  kind: string;
  detail: string;
  count: number | null;
  share: number | null;
}

export interface IValidationReport {
  passed: boolean;
  rows: number;
  against: string;
  data: string | null;
  anomalies: IAnomaly[];
}

export interface INotebookParam {
  name: string;
  type: string;
  default: string;
  help: string;
}

/** Metrics of a past run against its re-execution (a finished reproduce job). */
export interface IReproduceReport {
  original_run_id: string;
  run_id: string;
  status: string;
  ok: boolean;
  rtol: number;
  atol: number;
  metrics: { key: string; original: number | null; reproduced: number | null; ok: boolean }[];
  environment: { what: string; original: string; reproduced: string }[];
  /** of the original's lock, and how many the new run had at those versions */
  distributions?: { recorded: number; at_recorded_version: number };
  /** the rebuilt environment of an isolated reproduction (null otherwise) */
  isolated?: { key: string; reused: boolean; skipped: { name: string }[] } | null;
}

/** The options of `POST runs/{id}/reproduce` (none: in the server's own environment). */
export interface IReproduceOptions {
  isolated?: boolean;
  allow_missing?: boolean;
}

export interface IHeadlessRun {
  id: string;
  kind: 'headless' | 'reproduce';
  label: string;
  notebook: string;
  status: string;
  error: string | null;
  report: IReproduceReport | null;
  done: boolean;
  run_id: string | null;
  output_path: string | null;
  progress: { text: string; cells_done: number; cells_total: number } | null;
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
  artifactBytes(runId: string, path: string): Promise<ArrayBuffer>;
  artifactUrl(runId: string, path: string, download?: boolean): string;
  models(): Promise<IModelVersion[]>;
  modelHistory(name: string): Promise<HistoryEntry[]>;
  modelMonitoring(name: string): Promise<MonitoringEntry[]>;
  promote(name: string, promotion: IPromotion): Promise<IPromotionResult>;
  snapshots(name?: string): Promise<ISnapshot[]>;
  diff(a: string, b: string, key?: string): Promise<Record<string, any>>;
  drift(reference: string, current: string): Promise<Record<string, any>>;
  validate(data: string, against: string): Promise<IValidationReport>;
  notebookParams(path: string): Promise<INotebookParam[]>;
  startHeadless(path: string, params: Record<string, unknown>): Promise<IHeadlessRun>;
  headlessRuns(): Promise<IHeadlessRun[]>;
  cancelHeadless(id: string): Promise<IHeadlessRun>;
  reproduce(runId: string, options?: IReproduceOptions): Promise<IHeadlessRun>;
}

/** A schedule as `GET schedules` lists it. */
export interface ISchedule {
  name: string;
  target: string;
  kind: 'notebook' | 'pipeline';
  /** The cron expression, `""` when only triggers start it. */
  cron: string;
  cron_text: string;
  /** Every way it starts, in words: the cron in words, then each trigger ("when ..."). */
  when: string;
  /** Its event triggers as stored: `snapshot:NAME`, `promotion:MODEL@ALIAS`, `alert:MODEL`. */
  triggers: string[];
  trigger_text: string[];
  timezone: string;
  params: Record<string, unknown>;
  paused: boolean;
  overlap: string;
  next_run: string | null;
  last_run_id: string | null;
  last_status: string | null;
}

/** One execution of a schedule: an ordinary run. */
export interface IScheduleRun {
  run_id: string;
  status: string;
  start_time: number;
  tick: string | null;
  trigger: string | null;
}

export interface IScheduleList {
  schedules: ISchedule[];
  /** This server's scheduler, null when it does not run one. */
  scheduler: { id: string } | null;
}

export interface ICronPreview {
  cron: string;
  timezone: string;
  text: string;
  next: string[];
}

export interface INewSchedule {
  name: string;
  target: string;
  /** `""` when a trigger starts it. */
  cron: string;
  timezone?: string;
  params: Record<string, unknown>;
  on_snapshot?: string[];
  on_promotion?: string[];
  on_alert?: string[];
}

/** The schedule routes (`/mlops/api/v1/schedules`). */
export interface IScheduleSource {
  schedules(): Promise<IScheduleList>;
  scheduleRuns(name: string): Promise<IScheduleRun[]>;
  addSchedule(schedule: INewSchedule): Promise<ISchedule>;
  scheduleAction(name: string, action: 'pause' | 'resume' | 'run'): Promise<any>;
  removeSchedule(name: string): Promise<ISchedule>;
  previewCron(cron: string, timezone: string): Promise<ICronPreview>;
}
