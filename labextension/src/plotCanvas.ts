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
