/**
 * The `mlops:diff-runs` command: open the Diff view of two runs in the main area
 * (from the sidebar's or the runs table's **Diff** button).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { IRunDiffSource } from './diffTokens';
import { RunDiffWidget } from './runDiff';
import { CommandIDs } from './tokens';

export function addRunDiffCommand(
  app: JupyterFrontEnd,
  source: IRunDiffSource,
  icon: LabIcon
): void {
  app.commands.addCommand(CommandIDs.diffRuns, {
    label: 'MLOps: Diff Two Runs',
    caption: 'What changed between two runs: code cell by cell, params, metrics, data, environment',
    execute: args => {
      const runIds = (args.runIds as string[] | undefined) ?? [];
      if (runIds.length !== 2) {
        return;
      }
      const content = new RunDiffWidget(source, runIds[0], runIds[1]);
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
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void content.load();
    }
  });
}
