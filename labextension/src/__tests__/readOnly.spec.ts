import { Widget } from '@lumino/widgets';

import { markReadOnly, READ_ONLY_CLASS, READ_ONLY_NOTE } from '../readOnly';

describe('markReadOnly', () => {
  it('marks the tab without changing the label (a new label renames the file)', () => {
    const widget = new Widget();
    widget.title.label = 'train-1.ipynb';
    widget.title.className = 'jp-NotebookTab';
    const labels: string[] = [];
    widget.title.changed.connect(t => labels.push(t.label));
    markReadOnly(widget.title);
    expect(widget.title.label).toBe('train-1.ipynb');
    expect(new Set(labels)).toEqual(new Set(['train-1.ipynb']));
    expect(widget.title.className.split(' ')).toEqual(['jp-NotebookTab', READ_ONLY_CLASS]);
    expect(widget.title.caption).toBe(READ_ONLY_NOTE);
  });

  it('keeps the note when Lab rewrites the tooltip, and marks once', () => {
    const widget = new Widget();
    markReadOnly(widget.title);
    markReadOnly(widget.title);
    widget.title.caption = 'Name: train-1.ipynb\nPath: mlops-outputs/train-1.ipynb';
    expect(widget.title.caption).toBe(
      `Name: train-1.ipynb\nPath: mlops-outputs/train-1.ipynb\n${READ_ONLY_NOTE}`
    );
    expect(widget.title.className).toBe(READ_ONLY_CLASS);
    expect(widget.title.label).toBe('');
  });
});
