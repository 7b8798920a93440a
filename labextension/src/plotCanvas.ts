/**
 * What the runs charts share: a sharp canvas for thousands of marks, colours
 * read from JupyterLab's theme variables (light and dark), axis labels.
 */
import { short } from './charts';
import { IAxis } from './tableModel';

export interface IPlotColors {
  /** Runs inside every brush. */
  active: string;
  /** Runs outside a brush. */
  faded: string;
  text: string;
}

/** Colours of the current theme (re-read at every draw: themes switch at run time). */
export function themeColors(node: Element): IPlotColors {
  const style = getComputedStyle(node);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    active: read('--jp-brand-color1', '#1976d2'),
    faded: read('--jp-layout-color3', '#bdbdbd'),
    text: read('--jp-ui-font-color1', '#212121')
  };
}

/** Size `canvas` to `width`×`height` CSS pixels at the screen's density; a cleared context. */
export function sizedContext(
  canvas: HTMLCanvasElement,
  width: number,
  height: number
): CanvasRenderingContext2D | null {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  if (ctx) {
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
  }
  return ctx;
}

/** A labelled position on an axis: fraction 0 (bottom) .. 1 (top). */
export interface ITick {
  f: number;
  label: string;
}

/**
 * The labels of `axis`: both ends of a numeric range, one label for an axis
 * holding a single value (where its runs are drawn), every category when
 * there are at most `most`, else the first and last.
 */
export function axisTicks(axis: IAxis, most = 8): ITick[] {
  if (axis.numeric) {
    return axis.max > axis.min
      ? [
          { f: 0, label: axisLabel(axis, 0) },
          { f: 1, label: axisLabel(axis, 1) }
        ]
      : [{ f: 0.5, label: short(axis.min) }];
  }
  const n = axis.categories.length;
  if (n <= 1) {
    return n ? [{ f: 0.5, label: axis.categories[0] }] : [];
  }
  const picked = n <= most ? axis.categories.map((_, i) => i) : [0, n - 1];
  return picked.map(i => ({ f: i / (n - 1), label: axis.categories[i] }));
}

/** `label` cut to about `width` pixels of 11px text, ending in "…" when cut. */
export function fitLabel(label: string, width: number, charWidth = 6.5): string {
  const room = Math.max(3, Math.floor(width / charWidth));
  return label.length <= room ? label : `${label.slice(0, room - 1)}…`;
}

/**
 * The points of one run's line: the axes where it has a value, in order, so a
 * missing value is bridged from the axis before to the axis after instead of
 * breaking the line.
 */
export function linePoints(positions: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  positions.forEach((p, k) => {
    if (!Number.isNaN(p)) {
      out.push([k, p]);
    }
  });
  return out;
}

/** The value at fraction `f` (0..1) of `axis`, as a short label. */
export function axisLabel(axis: IAxis, f: number): string {
  if (!axis.numeric) {
    const n = axis.categories.length;
    return n ? axis.categories[Math.round(f * Math.max(0, n - 1))] : '';
  }
  return short(axis.min + f * (axis.max - axis.min));
}

/** The name shown for a column (`metrics.acc` → `acc`). */
export function columnLabel(column: string): string {
  return column.slice(column.indexOf('.') + 1);
}
