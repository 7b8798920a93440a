/**
 * Names and types of the runs table view (main area): the columnar answer of
 * `GET runs-table` (see `specification/openapi.yaml`) and what the view needs.
 */
import { RunStatus } from './tokens';

export const RUNS_TABLE_COMMAND = 'mlops:runs-table';

/** The fixed fields of every run, one array each, all in the same order. */
export interface IRunsColumns {
  run_id: string[];
  name: string[];
  status: RunStatus[];
  start_time: number[];
  end_time: (number | null)[];
  experiment_id: string[];
  parent_id: (string | null)[];
}

export type CellValue = number | string | null;

export interface IRunsTable {
  total: number;
  truncated: boolean;
  version: number;
  keys: { metrics: string[]; params: string[]; tags: string[] };
  runs: IRunsColumns;
  /** One array per asked column (`metrics.acc`, `params.lr`, `tags.team`). */
  columns: Record<string, CellValue[]>;
  /** Metric columns where NaN or an infinity was sent as null. */
  nonfinite?: string[];
}

export interface IRunsTableQuery {
  experimentIds: string[];
  filter: string;
  orderBy: string;
  columns: string[];
  /** Most runs to return (all by default); 1 is a cheap probe of `version`. */
  limit?: number;
  /** Runs in display order (nested runs right after their parent) before `limit` applies. */
  nested?: boolean;
}

/** The call the runs table model needs; `api.ts` implements it over REST, tests in memory. */
export interface ITableSource {
  runsTable(query: IRunsTableQuery): Promise<IRunsTable>;
}

/** Where picked columns are remembered (per experiment set); `localStorage` in Lab. */
export interface IColumnMemory {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
