/**
 * "MLOps: Model Performance": a model's live performance charts in the main area.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { IPerformanceSource, ModelPerformanceWidget } from './performance';
import { CommandIDs } from './tokens';

export function addModelPerformanceCommand(
  app: JupyterFrontEnd,
  source: IPerformanceSource,
  icon: LabIcon
): void {
  app.commands.addCommand(CommandIDs.modelPerformance, {
    label: 'MLOps: Model Performance',
    execute: args => {
      const content = new ModelPerformanceWidget(source, String(args.name ?? ''));
      const open = [...app.shell.widgets('main')].find(
        w => (w as MainAreaWidget).content?.id === content.id
      );
      if (open) {
        app.shell.activateById(open.id);
        void ((open as MainAreaWidget).content as ModelPerformanceWidget).load();
        return;
      }
      const widget = new MainAreaWidget({ content });
      widget.title.icon = icon;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void content.start();
    }
  });
}
