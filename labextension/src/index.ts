/**
 * JupyterLab plugin: the MLOps sidebar (Runs, Models, Data, Headless), run
 * detail and Compare tabs, the artifacts drive and the status bar item.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  showDialog,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, TabPanel, Widget } from '@lumino/widgets';

import { ExtensionMissingError, RestSource } from './api';
import { ArtifactDrive, artifactDocumentPath } from './artifactDrive';
import { CompareWidget } from './compare';
import { addRunDiffCommand } from './runDiffCommand';
import { addModelCardCommand } from './modelCard';
import { addModelPerformanceCommand } from './performanceCommand';
import { DataPanel } from './dataPanel';
import { h } from './elements';
import { HeadlessButton, HeadlessPanel, runHeadless } from './headless';
import { handshakeProblem, RunsModel } from './model';
import { ModelsPanel } from './modelsPanel';
import { openReadOnly } from './readOnly';
import { ReproduceForm } from './reproduceForm';
import { RunDetailWidget } from './runDetail';
import { RunsPanel } from './runsPanel';
import { addRunsTableCommand } from './runsTableCommand';
import { installSchedules } from './schedules';
import { RUNS_TABLE_COMMAND } from './tableTokens';
import { ActiveRunStatus } from './statusRun';
import { CommandIDs, IMlopsSource, IServerStatus, PLUGIN_ID } from './tokens';

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 20h18v2H3zM5 10h3v8H5zM10.5 4h3v14h-3zM16 13h3v5h-3z"/></g></svg>'
});

/** The sidebar's feature tabs, present once the server said they are available. */
interface IFeatures {
  tabs: TabPanel | null;
  data: DataPanel | null;
  headless: HeadlessPanel | null;
}

function sidebar(
  app: JupyterFrontEnd,
  source: IMlopsSource,
  model: RunsModel,
  features: IFeatures,
  onReady: (status: IServerStatus) => void
): Widget {
  const runs = new RunsPanel(model, {
    openRun: (runId, name) => void app.commands.execute(CommandIDs.openRun, { runId, name }),
    compare: runIds => void app.commands.execute(CommandIDs.compareRuns, { runIds }),
    diff: runIds => void app.commands.execute(CommandIDs.diffRuns, { runIds }),
    openTable: experimentIds => void app.commands.execute(RUNS_TABLE_COMMAND, { experimentIds })
  });
  const tabs = new TabPanel();
  tabs.addClass('jp-mlops-tabs');
  fitTabRows(tabs);
  tabs.addWidget(runs);
  features.tabs = tabs;
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
      addFeatureTabs(app, source, features, status);
      onReady(status);
    }
  });
  return panel;
}

/** Let the sidebar's tab bar be as tall as its wrapped rows of tabs (names are never cut). */
function fitTabRows(tabs: TabPanel): void {
  const bar = tabs.tabBar;
  const fit = () => {
    const top = bar.contentNode.getBoundingClientRect().top;
    const bottoms = [...bar.contentNode.children].map(t => t.getBoundingClientRect().bottom);
    const rows = bottoms.length ? Math.ceil(Math.max(...bottoms) - top) : 0;
    const height = rows > 0 ? `${rows}px` : '';
    if (bar.node.style.minHeight !== height) {
      bar.node.style.minHeight = height;
      tabs.fit();
    }
  };
  new ResizeObserver(fit).observe(bar.node);
  new MutationObserver(fit).observe(bar.contentNode, { childList: true });
}

function showSidebarTab(app: JupyterFrontEnd, features: IFeatures, tab: Widget): void {
  if (features.tabs) {
    features.tabs.currentWidget = tab;
  }
  app.shell.activateById('jp-mlops-sidebar');
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
  features: IFeatures,
  status: IServerStatus
): void {
  const tabs = features.tabs!;
  if (status.features.models) {
    tabs.addWidget(
      new ModelsPanel(
        source,
        (name, version) => app.commands.execute(CommandIDs.modelCard, { name, version }),
        name => app.commands.execute(CommandIDs.modelPerformance, { name })
      )
    );
  }
  if (status.features.data) {
    features.data = new DataPanel(source);
    tabs.addWidget(features.data);
  }
  if (!status.features.headless) {
    return;
  }
  const headless = new HeadlessPanel(source, run => {
    if (run.output_path) {
      void openReadOnly(app, run.output_path);
    }
  });
  features.headless = headless;
  tabs.addWidget(headless);
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new HeadlessButton(path => {
      runHeadless(source, path)
        .then(run => {
          if (run) {
            headless.track(run);
            showSidebarTab(app, features, headless);
          }
        })
        .catch(error => void showErrorMessage('Run headless', error));
    })
  );
  if (status.features.schedules && source instanceof RestSource) {
    installSchedules(app, tabs, source);
  }
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
  tracker: WidgetTracker<MainAreaWidget>,
  features: IFeatures
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
      const content = new RunDetailWidget(source, runId, {
        reproduce: (id, name) =>
          void app.commands.execute(CommandIDs.reproduceRun, { runId: id, name }),
        openSnapshot: ref => void app.commands.execute(CommandIDs.showSnapshot, { ref }),
        openArtifact: (id, path) =>
          void app.commands.execute(CommandIDs.openArtifact, { runId: id, path })
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `jp-mlops-run-tab-${runId}`;
      widget.title.icon = mlopsIcon;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    }
  });
  app.commands.addCommand(CommandIDs.reproduceRun, {
    label: 'MLOps: Reproduce Run',
    execute: async args => {
      const runId = String(args.runId ?? '');
      const headless = features.headless;
      if (!headless) {
        void showErrorMessage(
          'Reproduce',
          'Reproducing runs needs the headless feature: install papermill in the server environment.'
        );
        return;
      }
      const name = String(args.name || runId.slice(0, 8));
      const answer = await showDialog({
        title: `Reproduce ${name}?`,
        body: new ReproduceForm(),
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Reproduce' })]
      });
      if (!answer.button.accept || !answer.value) {
        return;
      }
      try {
        headless.track(await source.reproduce(runId, answer.value));
        showSidebarTab(app, features, headless);
      } catch (error) {
        void showErrorMessage('Reproduce', error as Error);
      }
    }
  });
  app.commands.addCommand(CommandIDs.showSnapshot, {
    label: 'MLOps: Show Snapshot',
    execute: args => {
      if (features.data) {
        showSidebarTab(app, features, features.data);
        void features.data.reveal(String(args.ref ?? ''));
      }
    }
  });
  app.commands.addCommand(CommandIDs.openArtifact, {
    label: 'MLOps: Open Artifact',
    execute: args =>
      openReadOnly(
        app,
        artifactDocumentPath(String(args.runId ?? ''), String(args.path ?? ''))
      ).catch(error => void showErrorMessage('Open artifact', error as Error))
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
    const features: IFeatures = { tabs: null, data: null, headless: null };
    app.serviceManager.contents.addDrive(
      new ArtifactDrive(source, app.serviceManager.serverSettings)
    );
    addCommands(app, source, tracker, features);
    addRunsTableCommand(app, source, model, mlopsIcon, palette, restorer);
    addRunDiffCommand(app, source, mlopsIcon);
    addModelCardCommand(app, source, mlopsIcon);
    addModelPerformanceCommand(app, source, mlopsIcon);
    // Run detail tabs come back after a reload.
    void restorer?.restore(tracker, {
      command: CommandIDs.openRun,
      args: w => ({ runId: (w.content as RunDetailWidget).runId }),
      name: w => (w.content as RunDetailWidget).runId
    });
    const panel = sidebar(app, source, model, features, status => {
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
