/**
 * The Schedule… dialog's body: a name, what starts it (a cron expression previewed in
 * words, or a trigger: a new snapshot version, an alias move, a model's alert), and the
 * notebook's parameters. No JupyterLab imports, so Jest tests it directly.
 */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './elements';
import { ParamsForm } from './forms';
import { ICronPreview, INewSchedule, IScheduleSource } from './tokens';

const PREVIEW_DELAY_MS = 300;

/** What starts a schedule: a cron expression or one kind of event. */
export type StartKind = 'cron' | 'snapshot' | 'promotion' | 'alert';

interface IKindInfo {
  choice: string;
  subject: string;
  example: string;
  field?: 'on_snapshot' | 'on_promotion' | 'on_alert';
}

/** Each kind: its choice in the form, what its field asks for, an example. */
export const START_KINDS: Record<StartKind, IKindInfo> = {
  cron: { choice: 'On a cron schedule', subject: '', example: '0 3 * * *' },
  snapshot: {
    choice: 'When a snapshot gets a new version',
    subject: 'Snapshot',
    example: 'customers',
    field: 'on_snapshot'
  },
  promotion: {
    choice: "When a model's alias moves",
    subject: 'Model@alias',
    example: 'churn@production',
    field: 'on_promotion'
  },
  alert: {
    choice: 'When a model raises an alert',
    subject: 'Model',
    example: 'churn',
    field: 'on_alert'
  }
};

/** What the fields hold, as typed (the dialog comes back with it after an error). */
export interface IScheduleText {
  name: string;
  kind: StartKind;
  cron: string;
  timezone: string;
  subject: string;
  params: Record<string, string>;
}

/** A schedule name from a notebook path: its stem with anything else than `A-Za-z0-9_.-` as `-`. */
export function defaultScheduleName(path: string): string {
  const stem = (path.split('/').pop() ?? 'notebook').replace(/\.ipynb$/, '');
  const name = stem.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (name || 'notebook').slice(0, 64);
}

/**
 * What is wrong with the trigger's field, in the form's words, or null when it can be
 * sent (whether the snapshot or model exists is the server's to say).
 */
export function triggerProblem(kind: StartKind, subject: string): string | null {
  const info = START_KINDS[kind];
  const text = subject.trim();
  if (kind === 'cron') {
    return null;
  }
  if (!text) {
    return `${info.subject} is empty: give one, e.g. ${info.example}.`;
  }
  const [model, alias] = text.split('@', 2);
  if (kind === 'promotion' && (!model || !alias)) {
    return `${info.subject} "${text}" needs a model and its alias, e.g. ${info.example}.`;
  }
  if (kind !== 'promotion' && text.includes('@')) {
    return `${info.subject} "${text}" is a name without "@", e.g. ${info.example}.`;
  }
  return null;
}

/** The command line's option names in a server message, as the form's fields name them. */
const OPTION_WORDS: [RegExp, string][] = [
  [/--on-snapshot\b/g, 'Snapshot'],
  [/--on-promotion\b/g, 'Model@alias'],
  [/--on-alert\b/g, 'Model'],
  [/--cron\b/g, 'Cron']
];

/** A server message (written for every interface) in the Schedule form's words. */
export function inFormWords(message: string): string {
  return OPTION_WORDS.reduce((text, [option, field]) => text.replace(option, field), message);
}

/** The part of the new schedule saying what starts it. */
export function startFields(
  kind: StartKind,
  cron: string,
  subject: string
): Pick<INewSchedule, 'cron' | 'on_snapshot' | 'on_promotion' | 'on_alert'> {
  const field = START_KINDS[kind].field;
  if (!field) {
    return { cron: cron.trim() };
  }
  return { cron: '', [field]: [subject.trim()] };
}

/** The dialog's body; `text` fills it as the user left it, `problem` shows above the fields. */
export class ScheduleForm extends Widget {
  constructor(
    private readonly _source: Pick<IScheduleSource, 'previewCron'>,
    text: IScheduleText,
    readonly params: ParamsForm,
    problem = '',
    suggestions: Partial<Record<StartKind, string[]>> = {}
  ) {
    super();
    this.addClass('jp-mlops-schedule-form');
    this.name = this._input('name', text.name);
    this.kind = h('select', {
      className: 'jp-mod-styled jp-mlops-schedule-kind',
      attrs: { name: 'schedule-kind', 'aria-label': 'starts' }
    });
    for (const [kind, info] of Object.entries(START_KINDS)) {
      this.kind.append(h('option', { attrs: { value: kind } }, info.choice));
    }
    this.kind.value = text.kind;
    this.cron = this._input('cron', text.cron);
    this.timezone = this._input('timezone', text.timezone);
    this.subject = this._input('subject', text.subject);
    this._suggestions = suggestions;
    const list = h('datalist', { attrs: { id: `jp-mlops-subjects-${ScheduleForm._count++}` } });
    this.subject.setAttribute('list', list.id);
    this._datalist = list;
    this.preview = h('div', { className: 'jp-mlops-cron-preview', attrs: { role: 'status' } });
    this._subjectLabel = h('span', {});
    this._cronRows = h(
      'div',
      { className: 'jp-mlops-schedule-cron' },
      this._row('Cron', this.cron),
      this.preview,
      this._row('Timezone', this.timezone)
    );
    this._subjectRow = h(
      'label',
      { className: 'jp-mlops-param-row jp-mlops-schedule-trigger' },
      this._subjectLabel,
      this.subject,
      list
    );
    this.node.append(
      ...(problem
        ? [h('div', { className: 'jp-mlops-error', attrs: { role: 'alert' } }, problem)]
        : []),
      this._row('Name', this.name),
      h('label', { className: 'jp-mlops-param-row' }, h('span', {}, 'Runs'), this.kind),
      this._cronRows,
      this._subjectRow,
      h('p', { className: 'jp-mlops-form-heading' }, 'Parameters'),
      params.node
    );
    this.kind.addEventListener('change', () => this._showKind());
    for (const input of [this.cron, this.timezone]) {
      input.addEventListener('input', () => this._schedulePreview());
    }
    this._showKind();
    void this.refreshPreview();
  }

  /** What starts it, as chosen. */
  get startKind(): StartKind {
    return this.kind.value as StartKind;
  }

  /** The fields as typed. */
  getText(): IScheduleText {
    return {
      name: this.name.value,
      kind: this.startKind,
      cron: this.cron.value,
      timezone: this.timezone.value,
      subject: this.subject.value,
      params: this.params.getText()
    };
  }

  /** The schedule asked for (without its target); throws on a parameter of the wrong type. */
  getSchedule(): Omit<INewSchedule, 'target'> {
    return {
      name: this.name.value.trim(),
      ...startFields(this.startKind, this.cron.value, this.subject.value),
      timezone: this.timezone.value.trim() || 'UTC',
      params: this.params.parsedValues()
    };
  }

  /** Ask the server for the expression in words (or what is wrong with it). */
  async refreshPreview(): Promise<void> {
    const asked = `${this.cron.value}|${this.timezone.value}`;
    let content: HTMLElement;
    try {
      const preview: ICronPreview = await this._source.previewCron(
        this.cron.value,
        this.timezone.value
      );
      content = h(
        'span',
        { className: 'jp-mlops-ok' },
        `${preview.text} (${preview.timezone}); next: ${preview.next.slice(0, 2).join(', ')}`
      );
    } catch (error) {
      content = h('span', { className: 'jp-mlops-error' }, (error as Error).message);
    }
    if (asked === `${this.cron.value}|${this.timezone.value}`) {
      replaceChildren(this.preview, content);
    }
  }

  private _showKind(): void {
    const kind = this.startKind;
    const info = START_KINDS[kind];
    this._cronRows.hidden = kind !== 'cron';
    this._subjectRow.hidden = kind === 'cron';
    this._subjectLabel.textContent = info.subject;
    this.subject.placeholder = info.example;
    replaceChildren(
      this._datalist,
      ...(this._suggestions[kind] ?? []).map(value => h('option', { attrs: { value } }))
    );
  }

  private _schedulePreview(): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => void this.refreshPreview(), PREVIEW_DELAY_MS);
  }

  private _input(name: string, value: string): HTMLInputElement {
    const input = h('input', {
      className: `jp-mod-styled jp-mlops-schedule-${name}`,
      attrs: { name: `schedule-${name}`, 'aria-label': name }
    });
    input.value = value;
    return input;
  }

  private _row(label: string, input: HTMLElement): HTMLElement {
    return h('label', { className: 'jp-mlops-param-row' }, h('span', {}, label), input);
  }

  readonly name: HTMLInputElement;
  readonly kind: HTMLSelectElement;
  readonly cron: HTMLInputElement;
  readonly timezone: HTMLInputElement;
  readonly subject: HTMLInputElement;
  readonly preview: HTMLElement;
  private _cronRows: HTMLElement;
  private _subjectRow: HTMLElement;
  private _subjectLabel: HTMLElement;
  private _datalist: HTMLElement;
  private _suggestions: Partial<Record<StartKind, string[]>>;
  private _timer = 0;
  private static _count = 0;
}
