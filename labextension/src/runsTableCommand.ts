/**
 * The "MLOps: Runs table" command: opens (or reveals) the main-area runs view of
 * some experiments, from the palette, the sidebar's Runs tab or the context menu
 * of its experiment picker.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { RunsModel } from './model';
import { RunsTableView } from './runsView';
import { RunsTableModel } from './tableModel';
import { ITableSource, RUNS_TABLE_COMMAND } from './tableTokens';
import { CommandIDs, IMlopsSource } from './tokens';

/** Experiments the command opens: its `experimentIds` argument, else the sidebar's choice. */
async function experimentsOf(
  args: any,
  source: IMlopsSource,
  sidebar: RunsModel
): Promise<{ ids: string[]; names: string[] }> {
  // the sidebar may not have loaded yet (it polls only while shown)
  const known = sidebar.experiments.length ? sidebar.experiments : await source.experiments();
  const given: string[] = Array.isArray(args.experimentIds) ? args.experimentIds.map(String) : [];
  const current = sidebar.experimentId ?? known[0]?.experiment_id;
  const ids = given.length ? given : current ? [current] : [];
  const names = ids.map(id => known.find(e => e.experiment_id === id)?.name ?? id);
  return { ids, names };
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: columns are not remembered
  }
}

/** Register the command, its palette entry and the experiment picker's context-menu item. */
export function addRunsTableCommand(
  app: JupyterFrontEnd,
  source: IMlopsSource & ITableSource,
  sidebar: RunsModel,
  icon: LabIcon,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null = null
): void {
  // Open runs tables come back after a reload, on the same experiments.
  const tracker = new WidgetTracker<MainAreaWidget<RunsTableView>>({
    namespace: 'jupyter-mlops-runs-table'
  });
  void restorer?.restore(tracker, {
    command: RUNS_TABLE_COMMAND,
    args: w => ({ experimentIds: w.content.model.experimentIds }),
    name: w => w.content.model.experimentIds.join(',')
  });
  app.commands.addCommand(RUNS_TABLE_COMMAND, {
    label: 'MLOps: Runs table',
    caption: 'Open a wide table, parallel coordinates and scatter of the runs of an experiment',
    execute: async args => {
      const { ids, names } = await experimentsOf(args, source, sidebar);
      if (!ids.length) {
        return;
      }
      const model = new RunsTableModel(source, ids, storage());
      const content = new RunsTableView(
        model,
        {
          openRun: (runId, name) => void app.commands.execute(CommandIDs.openRun, { runId, name }),
          compare: runIds => void app.commands.execute(CommandIDs.compareRuns, { runIds }),
          diff: runIds => void app.commands.execute(CommandIDs.diffRuns, { runIds })
        },
        names.join(', ')
      );
      const id = `${content.id}-tab`;
      const open = [...app.shell.widgets('main')].find(w => w.id === id);
      if (open) {
        content.dispose();
        app.shell.activateById(id);
        return;
      }
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.icon = icon;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    }
  });
  palette?.addItem({ command: RUNS_TABLE_COMMAND, category: 'MLOps' });
  app.contextMenu.addItem({
    command: RUNS_TABLE_COMMAND,
    selector: '.jp-mlops-runs .jp-mlops-experiment',
    rank: 0
  });
}
