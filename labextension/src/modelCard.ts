/**
 * A model version's card (`GET models/{name}/card`) in the main area: the HTML
 * page in a sandboxed frame (no script runs), the Markdown one click away.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { CommandIDs } from './tokens';

export interface IModelCard {
  model: string;
  version: string;
  markdown: string;
  html: string;
}

export interface IModelCardSource {
  modelCard(name: string, version: string): Promise<IModelCard>;
}

export class ModelCardWidget extends Widget {
  constructor(
    private readonly _source: IModelCardSource,
    readonly model: string,
    readonly version: string
  ) {
    super();
    this.id = `jp-mlops-card-${model}-${version}`.replace(/[^A-Za-z0-9_-]/g, '_');
    this.addClass('jp-mlops-card');
    this.title.label = `Card ${model} v${version}`;
    this.title.closable = true;
  }

  async load(): Promise<void> {
    try {
      const card = await this._source.modelCard(this.model, this.version);
      const frame = h('iframe', {
        className: 'jp-mlops-card-frame',
        attrs: { sandbox: '', title: `model card of ${card.model} version ${card.version}` }
      });
      frame.srcdoc = card.html;
      const source = h('pre', { className: 'jp-mlops-card-markdown' }, card.markdown);
      source.hidden = true;
      const toggle = h('button', { className: 'jp-mlops-button' }, 'Markdown');
      toggle.addEventListener('click', () => {
        source.hidden = !source.hidden;
        frame.hidden = !source.hidden;
        toggle.textContent = source.hidden ? 'Markdown' : 'Page';
      });
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-toolbar' }, toggle),
        frame,
        source
      );
      this.node.dataset.ready = 'true';
    } catch (error) {
      replaceChildren(
        this.node,
        h('div', { className: 'jp-mlops-error' }, (error as Error).message)
      );
    }
  }
}

export function addModelCardCommand(
  app: JupyterFrontEnd,
  source: IModelCardSource,
  icon: LabIcon
): void {
  app.commands.addCommand(CommandIDs.modelCard, {
    label: 'MLOps: Model Card',
    execute: args => {
      const content = new ModelCardWidget(
        source,
        String(args.name ?? ''),
        String(args.version ?? '')
      );
      const widget = new MainAreaWidget({ content });
      widget.title.icon = icon;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void content.load();
    }
  });
}
