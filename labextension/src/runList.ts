/**
 * What the sidebar's compact runs list shows at Lab's default sidebar width:
 * the experiment's key metric and the runs as a forest (nested runs folded
 * under their parent, as in the runs table).
 */
import { flattenGroups, groupRuns, IRowView } from './tableGroups';
import { IRunRow } from './tokens';

const PARENT_TAG = 'mlflow.parentRunId';

/** The metric `orderBy` sorts on (`metrics.acc DESC`, ``metrics.`a b` ASC``), or null. */
export function sortedMetric(orderBy: string): string | null {
  const match = /^metrics\.(`(.+)`|(\S+))(\s+(ASC|DESC))?$/.exec(orderBy.trim());
  return match ? (match[2] ?? match[3]) : null;
}

/** Metric names of `runs`, those logged by the most runs first (then by name). */
export function metricsByUse(runs: IRunRow[]): string[] {
  const count = new Map<string, number>();
  for (const run of runs) {
    for (const [key, value] of Object.entries(run.metrics)) {
      if (value !== null && value !== undefined) {
        count.set(key, (count.get(key) ?? 0) + 1);
      }
    }
  }
  return [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)! || a.localeCompare(b));
}

/**
 * The metric each row shows: the one the user picked, else the one the list is
 * sorted by, else the one most runs logged. Null when no run logged a metric.
 */
export function keyMetric(runs: IRunRow[], orderBy: string, picked: string | null): string | null {
  const known = metricsByUse(runs);
  for (const candidate of [picked, sortedMetric(orderBy)]) {
    if (candidate && known.includes(candidate)) {
      return candidate;
    }
  }
  return known[0] ?? null;
}

/** The visible rows: runs in their order, children under an expanded parent. */
export function runRows(runs: IRunRow[], expanded: ReadonlySet<string>): IRowView[] {
  const ids = runs.map(r => r.run_id);
  const parents = runs.map(r => r.tags?.[PARENT_TAG] ?? null);
  return flattenGroups(groupRuns(ids, parents), i => expanded.has(ids[i]));
}

/** A run's params as one short line: `lr=0.1 model=rf`. */
export function paramsLine(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
