/**
 * JupyterLab plugin: the MLOps sidebar (Runs), run detail and Compare tabs.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, TabPanel, Widget } from '@lumino/widgets';

import { ExtensionMissingError, RestSource } from './api';
import { CompareWidget } from './compare';
import { h } from './elements';
import { handshakeProblem, RunsModel } from './model';
import { RunDetailWidget } from './runDetail';
import { RunsPanel } from './runsPanel';
import { CommandIDs, IMlopsSource, PLUGIN_ID } from './tokens';

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 20h18v2H3zM5 10h3v8H5zM10.5 4h3v14h-3zM16 13h3v5h-3z"/></g></svg>'
});

function sidebar(app: JupyterFrontEnd, source: IMlopsSource, model: RunsModel): Widget {
  const runs = new RunsPanel(model, {
    openRun: (runId, name) => void app.commands.execute(CommandIDs.openRun, { runId, name }),
    compare: runIds => void app.commands.execute(CommandIDs.compareRuns, { runIds })
  });
  const tabs = new TabPanel();
  tabs.addClass('jp-mlops-tabs');
  tabs.addWidget(runs);
  const notice = new Widget({
    node: h('div', { className: 'jp-mlops-notice', attrs: { role: 'alert' } })
  });
  notice.hide();
  const panel = new Panel();
  panel.id = 'jp-mlops-sidebar';
  panel.addClass('jp-mlops-sidebar');
  panel.title.icon = mlopsIcon;
  panel.title.caption = 'MLOps';
  panel.addWidget(notice);
  panel.addWidget(tabs);
  void checkServer(source, notice, tabs, model);
  return panel;
}

async function checkServer(
  source: IMlopsSource,
  notice: Widget,
  tabs: Widget,
  model: RunsModel
): Promise<void> {
  let problem: string | null;
  try {
    problem = handshakeProblem(await source.status());
  } catch (error) {
    problem =
      error instanceof ExtensionMissingError
        ? error.message
        : `Cannot reach the jupyter-mlops server extension: ${(error as Error).message}`;
  }
  if (problem) {
    notice.node.textContent = problem;
    notice.show();
    tabs.hide();
    model.dispose();
    return;
  }
  void model.start();
}

function addCommands(
  app: JupyterFrontEnd,
  source: IMlopsSource,
  tracker: WidgetTracker<MainAreaWidget>
): void {
  app.commands.addCommand(CommandIDs.openRun, {
    label: 'MLOps: Open Run',
    execute: args => {
      const runId = String(args.runId ?? '');
      const existing = tracker.find(w => w.content.id === `jp-mlops-run-${runId}`);
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      const content = new RunDetailWidget(source, runId);
      const widget = new MainAreaWidget({ content });
      widget.id = `jp-mlops-run-tab-${runId}`;
      widget.title.icon = mlopsIcon;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    }
  });
  app.commands.addCommand(CommandIDs.compareRuns, {
    label: 'MLOps: Compare Selected Runs',
    execute: args => {
      const runIds = (args.runIds as string[] | undefined) ?? [];
      const content = new CompareWidget(source, runIds);
      const widget = new MainAreaWidget({ content });
      widget.title.icon = mlopsIcon;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void content.load();
    }
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'MLOps sidebar: runs, compare and run details from MLflow.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const source = new RestSource();
    const model = new RunsModel(source);
    const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'jupyter-mlops' });
    addCommands(app, source, tracker);
    const panel = sidebar(app, source, model);
    shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'jupyter-mlops-sidebar');
    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'MLOps: Show Sidebar',
      execute: () => shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'MLOps: Refresh Runs',
      execute: () => model.poll.refresh()
    });
    for (const command of [CommandIDs.openSidebar, CommandIDs.refresh]) {
      palette?.addItem({ command, category: 'MLOps' });
    }
  }
};

export default plugin;
