/**
 * JupyterLab plugin: the MLOps sidebar (Runs), run detail and Compare tabs.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, TabPanel, Widget } from '@lumino/widgets';

import { ExtensionMissingError, RestSource } from './api';
import { CompareWidget } from './compare';
import { DataPanel } from './dataPanel';
import { h } from './elements';
import { HeadlessButton, HeadlessPanel, runHeadless } from './headless';
import { handshakeProblem, RunsModel } from './model';
import { ModelsPanel } from './modelsPanel';
import { RunDetailWidget } from './runDetail';
import { RunsPanel } from './runsPanel';
import { ActiveRunStatus } from './statusRun';
import { CommandIDs, IHeadlessRun, IMlopsSource, IServerStatus, PLUGIN_ID } from './tokens';

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 20h18v2H3zM5 10h3v8H5zM10.5 4h3v14h-3zM16 13h3v5h-3z"/></g></svg>'
});

function sidebar(
  app: JupyterFrontEnd,
  source: IMlopsSource,
  model: RunsModel,
  onReady: (status: IServerStatus) => void
): Widget {
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
  void checkServer(source, notice, tabs, model).then(status => {
    if (status) {
      addFeatureTabs(app, source, tabs, status);
      onReady(status);
    }
  });
  return panel;
}

function openReadOnly(app: JupyterFrontEnd, run: IHeadlessRun): void {
  if (!run.output_path) {
    return;
  }
  void app.commands.execute('docmanager:open', { path: run.output_path }).then((widget: any) => {
    // An executed notebook is a record: show it without letting cells be edited.
    void widget?.context?.ready?.then(() => {
      for (const cell of widget.content?.widgets ?? []) {
        cell.readOnly = true;
      }
      widget.title.label = `${widget.title.label} (read-only)`;
    });
  });
}

function addStatusItem(
  app: JupyterFrontEnd,
  shell: ILabShell,
  statusBar: IStatusBar,
  source: IMlopsSource,
  status: IServerStatus
): void {
  const item = new ActiveRunStatus(
    source,
    status.server_root,
    run => void app.commands.execute(CommandIDs.openRun, { runId: run.run_id, name: run.name })
  );
  const follow = () => item.setNotebook((shell.currentWidget as any)?.context?.path ?? null);
  shell.currentChanged.connect(follow);
  follow();
  statusBar.registerStatusItem('jupyter-mlops:active-run', {
    item,
    align: 'left',
    rank: 4,
    isActive: () => true
  });
}

function addFeatureTabs(
  app: JupyterFrontEnd,
  source: IMlopsSource,
  tabs: TabPanel,
  status: IServerStatus
): void {
  if (status.features.models) {
    tabs.addWidget(new ModelsPanel(source));
  }
  if (status.features.data) {
    tabs.addWidget(new DataPanel(source));
  }
  if (!status.features.headless) {
    return;
  }
  const headless = new HeadlessPanel(source, run => openReadOnly(app, run));
  tabs.addWidget(headless);
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new HeadlessButton(path => {
      runHeadless(source, path)
        .then(run => {
          if (run) {
            headless.track(run);
            tabs.currentWidget = headless;
            app.shell.activateById('jp-mlops-sidebar');
          }
        })
        .catch(error => void showErrorMessage('Run headless', error));
    })
  );
}

async function checkServer(
  source: IMlopsSource,
  notice: Widget,
  tabs: Widget,
  model: RunsModel
): Promise<IServerStatus | null> {
  let problem: string | null;
  let status: IServerStatus | null = null;
  try {
    status = await source.status();
    problem = handshakeProblem(status);
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
    return null;
  }
  void model.start();
  return status;
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
  optional: [ILayoutRestorer, ICommandPalette, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
    const source = new RestSource();
    const model = new RunsModel(source);
    const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'jupyter-mlops' });
    addCommands(app, source, tracker);
    const panel = sidebar(app, source, model, status => {
      if (statusBar) {
        addStatusItem(app, shell, statusBar, source, status);
      }
    });
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
