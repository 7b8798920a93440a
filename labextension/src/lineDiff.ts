/**
 * Two texts line by line, side by side: the rows of a two-column code view.
 * A longest common subsequence of lines keeps what both sides share aligned;
 * removed and added lines between two shared ones are paired as changes.
 */

export type RowKind = 'same' | 'change' | 'del' | 'ins';

export interface ISideRow {
  left: string | null;
  right: string | null;
  kind: RowKind;
}

/** Above this many line pairs, lines are paired in order instead (huge cells). */
const MAX_CELLS = 4_000_000;

function commonLines(a: string[], b: string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const table = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * (m + 1) + j] =
        a[i] === b[j]
          ? table[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1]);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      pairs.push([i++, j++]);
    } else if (table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  return pairs;
}

function gap(out: ISideRow[], left: string[], right: string[]): void {
  for (let k = 0; k < Math.max(left.length, right.length); k++) {
    const l = k < left.length ? left[k] : null;
    const r = k < right.length ? right[k] : null;
    out.push({
      left: l,
      right: r,
      kind: l !== null && r !== null ? 'change' : l !== null ? 'del' : 'ins'
    });
  }
}

export function sideBySide(a: string, b: string): ISideRow[] {
  const la = a === '' ? [] : a.split('\n');
  const lb = b === '' ? [] : b.split('\n');
  const out: ISideRow[] = [];
  if (la.length * lb.length > MAX_CELLS) {
    gap(out, la, lb);
    return out;
  }
  let i = 0;
  let j = 0;
  for (const [pi, pj] of [...commonLines(la, lb), [la.length, lb.length] as [number, number]]) {
    gap(out, la.slice(i, pi), lb.slice(j, pj));
    if (pi < la.length) {
      out.push({ left: la[pi], right: lb[pj], kind: 'same' });
    }
    i = pi + 1;
    j = pj + 1;
  }
  return out;
}
