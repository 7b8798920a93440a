/** The Headless view's rule for opening executed notebooks. */
import { IHeadlessRun } from './tokens';

/**
 * Which finished runs to open, once each: those this Lab started (a run can
 * be over before the first poll sees it running) and those seen running.
 */
export class RunFollower {
  /** Open `id` when it is done, even if no poll ever sees it running. */
  follow(id: string): void {
    this._watching.add(id);
    this._opened.delete(id);
  }

  /** The runs of `runs` that just became openable; each is returned once. */
  toOpen(runs: IHeadlessRun[]): IHeadlessRun[] {
    const ready: IHeadlessRun[] = [];
    for (const run of runs) {
      if (!run.done) {
        this._watching.add(run.id);
      } else if (run.output_path && this._watching.has(run.id) && !this._opened.has(run.id)) {
        this._opened.add(run.id);
        ready.push(run);
      }
    }
    return ready;
  }

  private _watching = new Set<string>();
  private _opened = new Set<string>();
}
