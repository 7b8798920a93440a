/**
 * Sorting loaded runs in the browser exactly as the server's runs index orders
 * them (MLflow's rules): values ascending or descending, missing values last in
 * both directions, ties in the index's base order (newest first, then run id).
 * A sort then needs no request when every matching run is already loaded.
 */
import { CellValue, IRunsTable } from './tableTokens';

/** Order keys of the fixed columns, as the table's header sends them. */
const FIXED_KEYS: Record<string, (t: IRunsTable, i: number) => CellValue> = {
  'attributes.run_name': (t, i) => t.runs.name[i],
  'attributes.status': (t, i) => t.runs.status[i],
  'attributes.start_time': (t, i) => t.runs.start_time[i],
  'attributes.end_time': (t, i) => t.runs.end_time[i],
  duration: (t, i) => {
    const end = t.runs.end_time[i];
    return end ? (end - t.runs.start_time[i]) / 1000 : null;
  }
};

/** Compare strings by code point, as Python does (plain `<` compares UTF-16 units). */
export function compareText(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    let x = a.charCodeAt(k);
    let y = b.charCodeAt(k);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // surrogates (code points past U+FFFF) sort after U+E000..U+FFFF
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Rank of each run in the index's base order: newest first, then by run id. */
export function baseRanks(table: IRunsTable): Int32Array {
  const { start_time: start, run_id: ids } = table.runs;
  const order = ids.map((_, i) => i);
  order.sort((i, j) => start[j] - start[i] || compareText(ids[i], ids[j]));
  const ranks = new Int32Array(ids.length);
  order.forEach((i, rank) => (ranks[i] = rank));
  return ranks;
}

/** The values `orderBy`'s column sorts on, or `null` when only the server can sort on it. */
function sortValues(table: IRunsTable, column: string): CellValue[] | null {
  const n = table.runs.run_id.length;
  const fixed = FIXED_KEYS[column];
  if (fixed) {
    return Array.from({ length: n }, (_, i) => fixed(table, i));
  }
  // NaN and infinities came as null: the server knows where they go
  if ((table.nonfinite ?? []).includes(column)) {
    return null;
  }
  return table.columns[column] ?? null;
}

/**
 * Indices of the loaded runs in the order `orderBy` (`column ASC|DESC`) asks for,
 * or `null` when it cannot be done here (some runs not loaded, or an unknown key).
 */
export function sortIndices(
  table: IRunsTable,
  orderBy: string,
  ranks: Int32Array = baseRanks(table)
): number[] | null {
  const [column, direction] = orderBy.split(' ');
  const values = table.truncated ? null : sortValues(table, column);
  if (!values) {
    return null;
  }
  const sign = direction === 'ASC' ? 1 : -1;
  const order = values.map((_, i) => i);
  order.sort((i, j) => {
    const a = values[i];
    const b = values[j];
    if (a === null || b === null) {
      return a === b ? ranks[i] - ranks[j] : a === null ? 1 : -1;
    }
    const c =
      typeof a === 'number' && typeof b === 'number' ? a - b : compareText(String(a), String(b));
    return c === 0 ? ranks[i] - ranks[j] : sign * c;
  });
  return order;
}
