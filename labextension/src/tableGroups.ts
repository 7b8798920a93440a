/**
 * Nested runs grouped under their parent: a forest of run indices, and the rows
 * it shows with some parents collapsed.
 */

/** One visible table row: an index into the columns, its depth and group state. */
export interface IRowView {
  index: number;
  depth: number;
  childCount: number;
  expanded: boolean;
}

/**
 * Runs as a forest: roots (top-level runs, or runs whose parent is not shown) and
 * children, both in `order` (indices; default the order of `runIds`).
 */
export function groupRuns(
  runIds: string[],
  parentIds: (string | null)[],
  include: (i: number) => boolean = () => true,
  order: readonly number[] | null = null
): { roots: number[]; children: Map<number, number[]> } {
  const position = new Map<string, number>();
  for (const i of order ?? runIds.keys()) {
    if (include(i)) {
      position.set(runIds[i], i);
    }
  }
  const roots: number[] = [];
  const children = new Map<number, number[]>();
  for (const [, i] of position) {
    const parent = parentIds[i];
    const p = parent && parent !== runIds[i] ? position.get(parent) : undefined;
    if (p === undefined) {
      roots.push(i);
    } else {
      const kids = children.get(p);
      if (kids) {
        kids.push(i);
      } else {
        children.set(p, [i]);
      }
    }
  }
  breakCycles(position.values(), roots, children);
  return { roots, children };
}

/** Parent links in a cycle leave runs no root reaches: make one run of each cycle a root. */
function breakCycles(
  all: Iterable<number>,
  roots: number[],
  children: Map<number, number[]>
): void {
  const reached = new Set<number>();
  const reach = (start: number) => {
    const stack = [start];
    while (stack.length) {
      const i = stack.pop()!;
      if (!reached.has(i)) {
        reached.add(i);
        stack.push(...(children.get(i) ?? []));
      }
    }
  };
  roots.forEach(reach);
  for (const i of all) {
    if (!reached.has(i)) {
      for (const [p, kids] of children) {
        children.set(
          p,
          kids.filter(k => k !== i)
        );
      }
      roots.push(i);
      reach(i);
    }
  }
}

/** The visible rows of a forest: children follow their parent when it is expanded. */
export function flattenGroups(
  groups: { roots: number[]; children: Map<number, number[]> },
  isExpanded: (i: number) => boolean
): IRowView[] {
  const rows: IRowView[] = [];
  const seen = new Set<number>();
  const visit = (start: number) => {
    const stack: [number, number][] = [[start, 0]];
    while (stack.length) {
      const [i, depth] = stack.pop()!;
      if (seen.has(i)) {
        continue;
      }
      seen.add(i);
      const kids = groups.children.get(i) ?? [];
      const expanded = kids.length > 0 && isExpanded(i);
      rows.push({ index: i, depth, childCount: kids.length, expanded });
      if (expanded) {
        for (let k = kids.length - 1; k >= 0; k--) {
          stack.push([kids[k], depth + 1]);
        }
      }
    }
  };
  groups.roots.forEach(visit);
  return rows;
}
