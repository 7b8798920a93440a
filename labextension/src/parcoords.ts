/**
 * Parallel coordinates over the filtered runs: one vertical axis per picked
 * metric or param, one line per run on a canvas (10,000 lines draw in tens of
 * milliseconds), axes and brushes in SVG.  Dragging along an axis brushes it,
 * which filters the table; a click on an axis clears its brush.
 */
import { Widget } from '@lumino/widgets';

import { svg, text } from './charts';
import { h } from './elements';
import {
  axisTicks,
  columnLabel,
  fitLabel,
  linePoints,
  sizedContext,
  themeColors
} from './plotCanvas';
import { IAxis, RunsTableModel } from './tableModel';

const HEIGHT = 260;
const PAD = { left: 40, right: 40, top: 28, bottom: 22 };
/** A drag shorter than this (pixels) is a click: it clears the axis' brush. */
const CLICK = 3;

/** `el` with an SVG `<title>` (the hover text) of `full`. */
function titled(el: SVGTextElement, full: string): SVGTextElement {
  const title = svg('title', {});
  title.textContent = full;
  el.appendChild(title);
  return el;
}

export class ParallelCoordinates extends Widget {
  constructor(readonly model: RunsTableModel) {
    super();
    this.addClass('jp-mlops-parcoords');
    this._canvas = h('canvas', { className: 'jp-mlops-plot-canvas' });
    this._overlay = svg('svg', { class: 'jp-mlops-plot-overlay', role: 'img' });
    this.node.append(
      h(
        'div',
        { className: 'jp-mlops-plot-title' },
        'Parallel coordinates (drag on an axis to brush)'
      ),
      h('div', { className: 'jp-mlops-plot-area' }, this._canvas, this._overlay)
    );
  }

  /** Milliseconds the last draw call took (the browser tests read `data-draw-ms`, painted). */
  get drawMs(): number {
    return this._drawMs;
  }

  /** Draw every run over the current axes. */
  draw(): void {
    const t0 = performance.now();
    const axes = this.model.axes;
    const width = Math.max(320, this.node.clientWidth - 8);
    this._width = width;
    const ctx = sizedContext(this._canvas, width, HEIGHT);
    this._overlay.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
    this._overlay.setAttribute('width', String(width));
    this._overlay.setAttribute('height', String(HEIGHT));
    while (this._overlay.firstChild) {
      this._overlay.removeChild(this._overlay.firstChild);
    }
    if (axes.length < 2) {
      this._overlay.appendChild(
        text(width / 2, HEIGHT / 2, 'Pick two or more metric or param columns to draw axes')
      );
    } else if (ctx) {
      this._lines(ctx, axes);
      axes.forEach((axis, k) => this._axis(axis, this._x(k, axes.length)));
    }
    this._drawMs = performance.now() - t0;
    // the canvas is rasterized on the next frame: report until then
    requestAnimationFrame(() => {
      this.node.dataset.drawMs = (performance.now() - t0).toFixed(1);
    });
  }

  /** Pixels between two neighbouring axes. */
  private get _gap(): number {
    const n = this.model.axes.length;
    return (this._width - PAD.left - PAD.right) / Math.max(1, n - 1);
  }

  private _x(k: number, n: number): number {
    return PAD.left + (k * (this._width - PAD.left - PAD.right)) / Math.max(1, n - 1);
  }

  private _y(f: number): number {
    return PAD.top + (1 - f) * (HEIGHT - PAD.top - PAD.bottom);
  }

  private _fraction(y: number): number {
    return Math.min(1, Math.max(0, 1 - (y - PAD.top) / (HEIGHT - PAD.top - PAD.bottom)));
  }

  private _lines(ctx: CanvasRenderingContext2D, axes: IAxis[]): void {
    const m = this.model;
    const colors = themeColors(this.node);
    const n = m.table?.runs.run_id.length ?? 0;
    const xs = axes.map((_, k) => this._x(k, axes.length));
    const pass = (active: boolean) => {
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (m.inBrushes(i) !== active) {
          continue;
        }
        const points = linePoints(axes.map(axis => m.position(axis.column, i)));
        points.forEach(([k, p], j) => {
          if (j === 0) {
            ctx.moveTo(xs[k], this._y(p));
          } else {
            ctx.lineTo(xs[k], this._y(p));
          }
        });
        if (points.length === 1) {
          // a run with a value on one axis only: a short tick, not nothing
          const [k, p] = points[0];
          ctx.lineTo(xs[k] + 4, this._y(p));
        }
      }
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.faded;
    ctx.globalAlpha = 0.35;
    pass(false);
    ctx.strokeStyle = colors.active;
    ctx.globalAlpha = Math.min(0.9, 0.15 + 200 / Math.max(1, m.matched));
    pass(true);
    ctx.globalAlpha = 1;
  }

  private _axis(axis: IAxis, x: number): void {
    const g = svg('g', { class: 'jp-mlops-axis', 'data-column': axis.column });
    g.appendChild(svg('line', { x1: x, x2: x, y1: this._y(0), y2: this._y(1) }));
    // Labels stay within the gap to the next axis; the whole value is the hover title.
    const room = this._gap - 8;
    g.appendChild(titled(text(x, 14, fitLabel(columnLabel(axis.column), room)), axis.column));
    const ticks = axisTicks(axis);
    for (const tick of ticks) {
      const y = tick.f === 1 ? this._y(1) - 3 : tick.f === 0 ? HEIGHT - 6 : this._y(tick.f) + 4;
      const outer = tick.f === 0 || tick.f === 1;
      const label = outer
        ? text(x, y, fitLabel(tick.label, room))
        : text(x + 4, y, fitLabel(tick.label, room / 2 - 4), 'start');
      label.classList.add('jp-mlops-tick');
      g.appendChild(titled(label, tick.label));
    }
    const brush = this.model.brushes.get(axis.column);
    if (brush) {
      g.appendChild(this._brushRect(x, brush[0], brush[1]));
    }
    const hit = svg('rect', {
      x: x - 12,
      y: this._y(1),
      width: 24,
      height: this._y(0) - this._y(1),
      class: 'jp-mlops-axis-hit'
    });
    hit.addEventListener('pointerdown', event => this._startBrush(event, axis.column, x, g));
    g.appendChild(hit);
    this._overlay.appendChild(g);
  }

  private _brushRect(x: number, lo: number, hi: number): SVGRectElement {
    return svg('rect', {
      x: x - 8,
      y: this._y(hi),
      width: 16,
      height: Math.max(1, this._y(lo) - this._y(hi)),
      class: 'jp-mlops-brush'
    });
  }

  private _startBrush(event: PointerEvent, column: string, x: number, g: SVGGElement): void {
    event.preventDefault();
    const top = this._overlay.getBoundingClientRect().top;
    const y0 = event.clientY - top;
    let rect: SVGRectElement | null = null;
    const move = (e: PointerEvent) => {
      rect?.remove();
      const [a, b] = [this._fraction(y0), this._fraction(e.clientY - top)];
      rect = this._brushRect(x, Math.min(a, b), Math.max(a, b));
      g.appendChild(rect);
    };
    const up = (e: PointerEvent) => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      const y1 = e.clientY - top;
      const t0 = performance.now();
      this.model.setBrush(
        column,
        Math.abs(y1 - y0) < CLICK ? null : [this._fraction(y0), this._fraction(y1)]
      );
      // the table and charts redraw synchronously on the change; the frame after is painted
      requestAnimationFrame(() => {
        this.node.dataset.brushMs = (performance.now() - t0).toFixed(1);
      });
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  private _canvas: HTMLCanvasElement;
  private _overlay: SVGSVGElement;
  private _width = 600;
  private _drawMs = 0;
}
