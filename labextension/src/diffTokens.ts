/**
 * Types of `GET run-diff` (a `RunDiff` as JSON, see docs/diff.md) and the
 * source that fetches it.
 */

export type CellKind = 'added' | 'removed' | 'moved' | 'modified' | 'unchanged';

export interface ICellChange {
  kind: CellKind;
  cell_type: string;
  a_index: number | null;
  b_index: number | null;
  a_source: string | null;
  b_source: string | null;
  diff: string;
}

export interface IValueRow {
  key: string;
  a: string | number | null;
  b: string | number | null;
}

export interface IMetricRow extends IValueRow {
  difference: number | null;
  ratio: number | null;
  history?: { a: [number, number | null][]; b: [number, number | null][] };
}

export interface IDataRow {
  name: string;
  a: { ref: string | null; digest: string } | null;
  b: { ref: string | null; digest: string } | null;
  same: boolean;
  summary?: Record<string, any>;
  error?: string;
}

export interface IEnvDiff {
  fields: Record<string, [string | null, string | null]>;
  packages: {
    added: Record<string, string>;
    removed: Record<string, string>;
    changed: Record<string, [string, string]>;
  };
}

export interface IRunDiff {
  a: { label: string; run_id: string | null; notebook: string | null };
  b: { label: string; run_id: string | null; notebook: string | null };
  sections: string[];
  all: boolean;
  code: {
    cells: ICellChange[];
    parameters: Record<string, [unknown, unknown]>;
    unchanged: number;
  } | null;
  params: IValueRow[] | null;
  metrics: IMetricRow[] | null;
  data: IDataRow[] | null;
  env: IEnvDiff | null;
  outputs: { a_index: number; b_index: number; diff: string }[] | null;
  missing: string[];
}

export interface IRunDiffSource {
  runDiff(a: string, b: string): Promise<IRunDiff>;
}
