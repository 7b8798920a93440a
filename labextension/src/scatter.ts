/**
 * Scatter of any picked metric or param against another, one point per run on
 * a canvas.  Hovering shows the nearest run (name and both values, as text);
 * a click opens its detail.  Runs outside the brushes are drawn faded.
 */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { cellText } from './runsGrid';
import { axisTicks, columnLabel, fitLabel, sizedContext, themeColors } from './plotCanvas';
import { IAxis, RunsTableModel } from './tableModel';

const HEIGHT = 260;
const PAD = { left: 48, right: 12, top: 10, bottom: 28 };
/** Pixels within which a point counts as hovered. */
const NEAR = 8;

/**
 * The columns a scatter opens on, as `[x, y]`: a numeric metric on y against
 * another numeric column (a numeric param first), so the default plot has
 * points; text columns only when fewer than two columns are numbers.
 */
export function defaultPair(axes: IAxis[]): [string, string] {
  const numeric = axes.filter(a => a.numeric).map(a => a.column);
  const y = numeric.find(c => c.startsWith('metrics.')) ?? numeric[0] ?? axes[0]?.column ?? '';
  const others = numeric.filter(c => c !== y);
  const x =
    others.find(c => c.startsWith('params.')) ??
    others[0] ??
    axes.find(a => a.column !== y)?.column ??
    y;
  return [x, y];
}

export class ScatterPlot extends Widget {
  constructor(
    readonly model: RunsTableModel,
    private readonly _openRun: (runId: string, name: string) => void
  ) {
    super();
    this.addClass('jp-mlops-scatter');
    this._x = h('select', { className: 'jp-mlops-axis-pick', title: 'x axis' });
    this._y = h('select', { className: 'jp-mlops-axis-pick', title: 'y axis' });
    for (const select of [this._x, this._y]) {
      select.addEventListener('change', () => this.draw());
    }
    this._canvas = h('canvas', { className: 'jp-mlops-plot-canvas' });
    this._tip = h('div', { className: 'jp-mlops-plot-tip', attrs: { role: 'tooltip' } });
    this._tip.hidden = true;
    this._canvas.addEventListener('mousemove', e => this._hover(e));
    this._canvas.addEventListener('mouseleave', () => (this._tip.hidden = true));
    this._canvas.addEventListener('click', e => this._click(e));
    this.node.append(
      h('div', { className: 'jp-mlops-plot-title' }, 'Scatter ', this._y, ' against ', this._x),
      h('div', { className: 'jp-mlops-plot-area' }, this._canvas, this._tip)
    );
  }

  /** Refill the axis pickers (keeping choices still possible) and draw. */
  draw(): void {
    this._fillPickers();
    const axes = new Map(this.model.axes.map(a => [a.column, a]));
    const ax = axes.get(this._x.value);
    const ay = axes.get(this._y.value);
    const width = Math.max(280, this.node.clientWidth - 8);
    this._width = width;
    const ctx = sizedContext(this._canvas, width, HEIGHT);
    this._points = [];
    if (!ctx || !ax || !ay) {
      return;
    }
    const colors = themeColors(this.node);
    this._frame(ctx, ax, ay, colors.text);
    const n = this.model.table?.runs.run_id.length ?? 0;
    for (const active of [false, true]) {
      ctx.fillStyle = active ? colors.active : colors.faded;
      ctx.globalAlpha = active ? 0.8 : 0.5;
      for (let i = 0; i < n; i++) {
        if (this.model.inBrushes(i) !== active) {
          continue;
        }
        const px = this.model.position(ax.column, i);
        const py = this.model.position(ay.column, i);
        if (Number.isNaN(px) || Number.isNaN(py)) {
          continue;
        }
        const [x, y] = [this._sx(px), this._sy(py)];
        ctx.fillRect(x - 2, y - 2, 4, 4);
        this._points.push([x, y, i]);
      }
    }
    ctx.globalAlpha = 1;
  }

  private _fillPickers(): void {
    const axes = this.model.axes.map(a => a.column);
    const pick = (select: HTMLSelectElement, choices: string[], fallback: string) => {
      const keep = choices.includes(select.value) ? select.value : fallback;
      replaceChildren(
        select,
        ...choices.map(c => h('option', { attrs: { value: c } }, columnLabel(c)))
      );
      select.value = keep;
    };
    const [x, y] = defaultPair(this.model.axes);
    pick(this._x, axes, x);
    pick(this._y, axes, y);
  }

  private _sx(f: number): number {
    return PAD.left + f * (this._width - PAD.left - PAD.right);
  }

  private _sy(f: number): number {
    return PAD.top + (1 - f) * (HEIGHT - PAD.top - PAD.bottom);
  }

  private _frame(ctx: CanvasRenderingContext2D, ax: IAxis, ay: IAxis, color: string): void {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.6;
    ctx.strokeRect(
      PAD.left,
      PAD.top,
      this._width - PAD.left - PAD.right,
      HEIGHT - PAD.top - PAD.bottom
    );
    ctx.font = '11px sans-serif';
    const room = (PAD.left - 6) * 1.6;
    ctx.textAlign = 'right';
    for (const tick of axisTicks(ay, 2)) {
      ctx.fillText(fitLabel(tick.label, room), PAD.left - 4, this._sy(tick.f) + (tick.f ? 10 : 0));
    }
    const xTicks = axisTicks(ax, 2);
    for (const tick of xTicks) {
      ctx.textAlign = tick.f === 0 ? 'left' : tick.f === 1 ? 'right' : 'center';
      ctx.fillText(fitLabel(tick.label, 160), this._sx(tick.f), HEIGHT - 8);
    }
    ctx.globalAlpha = 1;
  }

  private _nearest(event: MouseEvent): number | null {
    const box = this._canvas.getBoundingClientRect();
    const [mx, my] = [event.clientX - box.left, event.clientY - box.top];
    let best: number | null = null;
    let bestD = NEAR * NEAR;
    for (const [x, y, i] of this._points) {
      const d = (x - mx) ** 2 + (y - my) ** 2;
      if (d <= bestD) {
        [best, bestD] = [i, d];
      }
    }
    return best;
  }

  private _hover(event: MouseEvent): void {
    const i = this._nearest(event);
    this._tip.hidden = i === null;
    if (i === null) {
      return;
    }
    const runs = this.model.table!.runs;
    const value = (c: string) => `${columnLabel(c)} = ${cellText(this.model.value(c, i))}`;
    this._tip.textContent = `${runs.name[i] || runs.run_id[i]} · ${value(this._y.value)} · ${value(this._x.value)}`;
    this._tip.style.left = `${event.offsetX + 12}px`;
    this._tip.style.top = `${event.offsetY + 12}px`;
    this._tip.dataset.runId = runs.run_id[i];
  }

  private _click(event: MouseEvent): void {
    const i = this._nearest(event);
    if (i !== null) {
      const runs = this.model.table!.runs;
      this._openRun(runs.run_id[i], runs.name[i]);
    }
  }

  private _x: HTMLSelectElement;
  private _y: HTMLSelectElement;
  private _canvas: HTMLCanvasElement;
  private _tip: HTMLDivElement;
  private _width = 400;
  private _points: [number, number, number][] = [];
}
