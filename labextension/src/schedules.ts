/**
 * Schedules: the sidebar's Schedules tab (when each runs in words, pause/resume, run
 * now, remove, the executions as runs) and "Schedule…" on the notebook toolbar, a
 * dialog (`scheduleForm.ts`) reusing the Run headless parameter form plus a cron field
 * previewed in words or a trigger.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog, showErrorMessage, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { Poll } from '@lumino/polling';
import { TabPanel, Widget } from '@lumino/widgets';

import { h, replaceChildren, statusBadge } from './elements';
import { timeElement } from './dates';
import { ParamsForm } from './forms';
import {
  defaultScheduleName,
  inFormWords,
  IScheduleText,
  ScheduleForm,
  StartKind,
  triggerProblem
} from './scheduleForm';
import { CommandIDs, IMlopsSource, ISchedule, IScheduleList, IScheduleSource } from './tokens';

/** Suggestions for a trigger's field: the project's snapshots, models and their aliases. */
async function subjects(source: IMlopsSource): Promise<Partial<Record<StartKind, string[]>>> {
  const [snapshots, versions] = await Promise.all([
    source.snapshots().catch(() => []),
    source.models().catch(() => [])
  ]);
  const models = [...new Set(versions.map(v => v.name))].sort();
  const aliases = versions.flatMap(v =>
    String(v.aliases || '')
      .split(/[,\s]+/)
      .filter(a => a)
      .map(a => `${v.name}@${a}`)
  );
  return {
    snapshot: [...new Set(snapshots.map(s => s.ref.split('@')[0]))].sort(),
    promotion: [...new Set(aliases)].sort(),
    alert: models
  };
}

/**
 * Ask for name, what starts it (cron or a trigger) and parameters; add the schedule of
 * `path`; return it, or null. A refused schedule brings the dialog back as it was left,
 * with the server's reason above the fields.
 */
export async function scheduleNotebook(
  source: IMlopsSource & IScheduleSource,
  path: string
): Promise<ISchedule | null> {
  const [params, suggestions] = await Promise.all([source.notebookParams(path), subjects(source)]);
  let text: IScheduleText = {
    name: defaultScheduleName(path),
    kind: 'cron',
    cron: '0 3 * * *',
    timezone: 'UTC',
    subject: '',
    params: {}
  };
  let problem = '';
  for (;;) {
    const form = new ScheduleForm(
      source,
      text,
      new ParamsForm(params, text.params),
      problem,
      suggestions
    );
    const answer = await showDialog({
      title: `Schedule ${path}`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Schedule' })]
    });
    if (!answer.button.accept) {
      return null;
    }
    text = form.getText();
    problem = triggerProblem(text.kind, text.subject) ?? '';
    if (problem) {
      continue;
    }
    try {
      return await source.addSchedule({ ...form.getSchedule(), target: path });
    } catch (error) {
      problem = inFormWords((error as Error).message);
    }
  }
}

/** Adds "Schedule…" beside "Run headless" on every notebook's toolbar. */
export class ScheduleButton implements DocumentRegistry.WidgetExtension {
  constructor(private readonly _onClick: (path: string) => void) {}

  createNew(
    panel: any,
    context: DocumentRegistry.Context
  ): { dispose(): void; isDisposed: boolean } {
    if (context.path.includes(':')) {
      return { dispose: () => undefined, isDisposed: false };
    }
    const button = new ToolbarButton({
      className: 'jp-mlops-schedule-button',
      label: 'Schedule…',
      tooltip:
        'Run this notebook headless on a cron schedule or on an event (a new snapshot ' +
        "version, an alias move, a model's alert), each time as one MLflow run",
      onClick: () => this._onClick(context.path)
    });
    panel.toolbar.insertItem(11, 'mlops-schedule', button);
    return button;
  }
}

/** The Schedules tab: every schedule, its state and actions, its executions as runs. */
export class SchedulesPanel extends Widget {
  constructor(
    private readonly _source: IScheduleSource,
    private readonly _openRun: (runId: string, name: string) => void
  ) {
    super();
    this.addClass('jp-mlops-schedules');
    this.title.label = 'Schedules';
    this._notice = h('p', { className: 'jp-mlops-note' });
    this._list = h('div', { className: 'jp-mlops-table-wrap' });
    this.node.append(this._notice, this._list);
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      name: 'jupyter-mlops:schedules',
      standby: 'when-hidden'
    });
  }

  async refresh(): Promise<void> {
    const listed = await this._source.schedules();
    this._render(listed);
    for (const name of this._expanded) {
      await this._showRuns(name);
    }
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private _render(listed: IScheduleList): void {
    this._notice.textContent = listed.scheduler
      ? ''
      : 'No scheduler runs in this server: start `jupyter mlops scheduler`, or set ' +
        'c.MlopsSchedulerApp.enabled = True. "Run now" works either way.';
    if (listed.schedules.length === 0) {
      replaceChildren(
        this._list,
        h(
          'p',
          { className: 'jp-mlops-empty' },
          'No schedules yet: use "Schedule…" on a notebook toolbar.'
        )
      );
      return;
    }
    const cards = listed.schedules.map(s => this._card(s));
    replaceChildren(this._list, ...cards);
  }

  private _card(s: ISchedule): HTMLElement {
    const triggers = s.triggers ?? [];
    const when = s.paused
      ? ['paused']
      : s.next_run
        ? ['next ', timeElement(s.next_run)]
        : [triggers.length ? 'next: at the next event' : 'next -'];
    const title = [s.cron ? `cron: ${s.cron} (${s.timezone})` : '', ...triggers]
      .filter(t => t)
      .join('\n');
    return h(
      'div',
      {
        className: 'jp-mlops-schedule',
        attrs: { 'data-name': s.name, 'data-paused': String(s.paused) }
      },
      h(
        'div',
        { className: 'jp-mlops-schedule-head' },
        h('span', { className: 'jp-mlops-schedule-name' }, s.name),
        s.last_status ? statusBadge(s.last_status) : null
      ),
      h('div', { className: 'jp-mlops-schedule-target' }, s.target),
      h('div', { className: 'jp-mlops-schedule-when', title }, s.when || s.cron_text),
      h('div', { className: 'jp-mlops-schedule-next' }, ...when),
      h('div', { className: 'jp-mlops-schedule-actions' }, ...this._actions(s)),
      this._runsList(s.name)
    );
  }

  private _actions(s: ISchedule): HTMLElement[] {
    const button = (label: string, className: string, act: () => Promise<unknown>) => {
      const b = h('button', { className: `jp-mlops-button ${className}` }, label);
      b.addEventListener('click', () => {
        act()
          .then(() => this.refresh())
          .catch(error => void showErrorMessage(`Schedule ${s.name}`, error));
      });
      return b;
    };
    return [
      s.paused
        ? button('Resume', 'jp-mlops-resume', () => this._source.scheduleAction(s.name, 'resume'))
        : button('Pause', 'jp-mlops-pause', () => this._source.scheduleAction(s.name, 'pause')),
      button('Run now', 'jp-mlops-run-now', async () => {
        this._expanded.add(s.name);
        await this._source.scheduleAction(s.name, 'run');
      }),
      button('Runs', 'jp-mlops-show-runs', async () => {
        if (!this._expanded.delete(s.name)) {
          this._expanded.add(s.name);
        }
      }),
      button('Remove', 'jp-mlops-remove', () => this._remove(s.name))
    ];
  }

  private async _remove(name: string): Promise<void> {
    const answer = await showDialog({
      title: `Remove schedule ${name}?`,
      body: 'Its past executions stay as runs.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (answer.button.accept) {
      this._expanded.delete(name);
      await this._source.removeSchedule(name);
    }
  }

  private _runsList(name: string): HTMLElement {
    const list = h('div', { className: 'jp-mlops-schedule-runs', attrs: { 'data-name': name } });
    list.hidden = !this._expanded.has(name);
    return list;
  }

  private async _showRuns(name: string): Promise<void> {
    const row = this._list.querySelector<HTMLElement>(
      `.jp-mlops-schedule-runs[data-name="${CSS.escape(name)}"]`
    );
    if (!row) {
      return;
    }
    const runs = await this._source.scheduleRuns(name);
    const items = runs.map(r => {
      const item = h(
        'li',
        { className: 'jp-mlops-schedule-run', attrs: { 'data-run': r.run_id } },
        statusBadge(r.status),
        ` ${r.tick ?? ''} (${r.trigger ?? ''}) `,
        h('code', {}, r.run_id.slice(0, 8))
      );
      item.addEventListener('click', () => this._openRun(r.run_id, `${name} ${r.tick ?? ''}`));
      return item;
    });
    row.hidden = false;
    replaceChildren(
      row,
      items.length ? h('ul', {}, ...items) : h('p', { className: 'jp-mlops-empty' }, 'No runs yet.')
    );
  }

  private _notice: HTMLElement;
  private _list: HTMLElement;
  private _poll: Poll;
  private _expanded = new Set<string>();
}

/** Add the Schedules tab to the sidebar's `tabs` and "Schedule…" to notebook toolbars. */
export function installSchedules(
  app: JupyterFrontEnd,
  tabs: TabPanel,
  source: IMlopsSource & IScheduleSource
): SchedulesPanel {
  const panel = new SchedulesPanel(
    source,
    (runId, name) => void app.commands.execute(CommandIDs.openRun, { runId, name })
  );
  tabs.addWidget(panel);
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new ScheduleButton(path => {
      scheduleNotebook(source, path)
        .then(added => {
          if (added) {
            tabs.currentWidget = panel;
            app.shell.activateById('jp-mlops-sidebar');
            void panel.refresh();
          }
        })
        .catch(error => void showErrorMessage('Schedule', error));
    })
  );
  return panel;
}
