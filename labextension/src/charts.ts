/**
 * Small SVG line charts for metric histories: one or several series (runs)
 * overlaid on shared axes.  Labels are SVG text nodes, never markup.
 */
import { IPoint } from './tokens';

const SVG = 'http://www.w3.org/2000/svg';
const W = 360;
const H = 180;
const PAD = { left: 48, right: 10, top: 10, bottom: 24 };

export interface ISeries {
  label: string;
  /** `step` is the x value (a step, or epoch ms with an `xLabel` formatter). */
  points: (Pick<IPoint, 'step' | 'value'> & Partial<IPoint>)[];
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  return el;
}

export function text(x: number, y: number, value: string, anchor = 'middle'): SVGTextElement {
  const el = svg('text', { x, y, 'text-anchor': anchor, class: 'jp-mlops-chart-label' });
  el.textContent = value;
  return el;
}

export function short(v: number): string {
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-2 || abs >= 1e4) ? v.toExponential(1) : String(+v.toPrecision(3));
}

/** Draw `series` as an SVG chart titled `title`; the series index picks the colour. */
export function lineChart(
  title: string,
  series: ISeries[],
  options: { legend?: boolean; xLabel?: (x: number) => string } = {}
): HTMLElement {
  const xLabel = options.xLabel ?? ((x: number) => String(x));
  const figure = document.createElement('figure');
  figure.className = 'jp-mlops-chart';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  figure.appendChild(caption);
  const finite = series.map(s => ({
    ...s,
    points: s.points.filter(p => p.value !== null && Number.isFinite(p.value))
  }));
  const all = finite.flatMap(s => s.points);
  if (all.length === 0) {
    const p = document.createElement('p');
    p.className = 'jp-mlops-empty';
    p.textContent = 'no finite values';
    figure.appendChild(p);
    return figure;
  }
  const xs = all.map(p => p.step);
  const ys = all.map(p => p.value as number);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) {
    [y0, y1] = [y0 - 1, y1 + 1];
  }
  const sx = (x: number) =>
    PAD.left + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'jp-mlops-chart-svg' });
  root.appendChild(
    svg('rect', {
      x: PAD.left,
      y: PAD.top,
      width: W - PAD.left - PAD.right,
      height: H - PAD.top - PAD.bottom,
      class: 'jp-mlops-chart-frame'
    })
  );
  root.appendChild(text(PAD.left - 4, sy(y1) + 4, short(y1), 'end'));
  root.appendChild(text(PAD.left - 4, sy(y0), short(y0), 'end'));
  const first = options.xLabel ? xLabel(x0) : `step ${x0}`;
  root.appendChild(text(sx(x0), H - 8, first, x1 === x0 ? 'middle' : 'start'));
  if (x1 !== x0) {
    root.appendChild(text(sx(x1), H - 8, xLabel(x1), 'end'));
  }
  finite.forEach((s, i) => {
    const cls = `jp-mlops-series jp-mlops-series-${i % 6}`;
    if (s.points.length === 0) {
      return;
    }
    if (s.points.length === 1) {
      const p = s.points[0];
      root.appendChild(
        svg('circle', { cx: sx(p.step), cy: sy(p.value as number), r: 3, class: cls })
      );
      return;
    }
    const d = s.points
      .map((p, j) => `${j ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.value as number).toFixed(1)}`)
      .join(' ');
    const path = svg('path', { d, class: cls });
    const tip = svg('title', {});
    tip.textContent = s.label;
    path.appendChild(tip);
    root.appendChild(path);
  });
  figure.appendChild(root);
  if (series.length > 1 && options.legend !== false) {
    figure.appendChild(seriesLegend(series.map(s => s.label)));
  }
  return figure;
}

/** The colour key of series `labels` (in series order); items wrap, long names are cut with a title. */
export function seriesLegend(labels: string[]): HTMLElement {
  const legend = document.createElement('div');
  legend.className = 'jp-mlops-legend';
  labels.forEach((label, i) => {
    const item = document.createElement('span');
    item.className = `jp-mlops-legend-item jp-mlops-series-${i % 6}`;
    item.textContent = label;
    item.title = label;
    legend.appendChild(item);
  });
  return legend;
}
