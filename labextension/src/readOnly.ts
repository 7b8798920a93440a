/**
 * Records opened as Lab documents (executed notebooks, run artifacts) shown
 * read-only: no kernel, nothing editable, and a read-only mark on the tab.
 *
 * The mark never goes into the title's label: a document widget takes a new
 * label for a rename of its file, so "x.ipynb (read-only)" renamed the file
 * on disk. The tab gets a class (styled with a "read-only" badge) and its
 * tooltip says so.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Title } from '@lumino/widgets';

/** Class on a read-only document's tab. */
export const READ_ONLY_CLASS = 'jp-mlops-read-only';

/** Appended to the tab's tooltip (kept when Lab rewrites the tooltip). */
export const READ_ONLY_NOTE = 'Read-only: a record of a run; save a copy to edit it.';

/** Mark `title` read-only (class and tooltip) without touching its label. */
export function markReadOnly(title: Title<unknown>): void {
  const apply = () => {
    const classes = title.className.split(/\s+/).filter(Boolean);
    if (!classes.includes(READ_ONLY_CLASS)) {
      title.className = [...classes, READ_ONLY_CLASS].join(' ');
    }
    if (!title.caption.includes(READ_ONLY_NOTE)) {
      title.caption = title.caption ? `${title.caption}\n${READ_ONLY_NOTE}` : READ_ONLY_NOTE;
    }
  };
  apply();
  // Lab sets the tooltip again (path, last modified) once the file is loaded.
  title.changed.connect(apply);
}

/** Open `path` as a record: no kernel, nothing editable, marked read-only. */
export async function openReadOnly(app: JupyterFrontEnd, path: string): Promise<void> {
  const widget: any = await app.commands.execute('docmanager:open', { path });
  const session = widget?.sessionContext;
  if (session) {
    session.kernelPreference = { ...session.kernelPreference, shouldStart: false, canStart: false };
  }
  if (widget?.title) {
    markReadOnly(widget.title);
  }
  await widget?.context?.ready;
  if (!widget || widget.isDisposed) {
    return;
  }
  for (const cell of widget.content?.widgets ?? []) {
    cell.readOnly = true;
  }
  widget.content?.editor?.setOption?.('readOnly', true);
  if (widget.context?.model) {
    widget.context.model.dirty = false; // loading may normalise the file; nothing to save
  }
}
