import { ParamsForm } from '../forms';
import { PromoteForm } from '../promoteForm';
import {
  defaultScheduleName,
  inFormWords,
  IScheduleText,
  ScheduleForm,
  startFields,
  triggerProblem
} from '../scheduleForm';

const PARAMS = [{ name: 'threshold', type: 'float', default: '0.5', help: '' }];
const PREVIEW = {
  previewCron: async (cron: string, timezone: string) => ({
    cron,
    timezone,
    text: `words of ${cron}`,
    next: []
  })
};
const TEXT: IScheduleText = {
  name: 'score',
  kind: 'cron',
  cron: '0 3 * * *',
  timezone: 'UTC',
  subject: '',
  params: {}
};

describe('what starts a schedule', () => {
  it('sends a cron expression, or one trigger and no cron', () => {
    expect(startFields('cron', ' 0 3 * * * ', 'ignored')).toEqual({ cron: '0 3 * * *' });
    expect(startFields('snapshot', '0 3 * * *', ' customers ')).toEqual({
      cron: '',
      on_snapshot: ['customers']
    });
    expect(startFields('promotion', '', 'churn@production')).toEqual({
      cron: '',
      on_promotion: ['churn@production']
    });
    expect(startFields('alert', '', 'churn')).toEqual({ cron: '', on_alert: ['churn'] });
  });

  it("says what is wrong with a trigger's field in the form's words", () => {
    expect(triggerProblem('cron', '')).toBeNull();
    expect(triggerProblem('snapshot', 'customers')).toBeNull();
    expect(triggerProblem('promotion', 'churn@production')).toBeNull();
    const problems = [
      triggerProblem('snapshot', ' '),
      triggerProblem('promotion', 'churn'),
      triggerProblem('promotion', '@production'),
      triggerProblem('alert', 'churn@production')
    ];
    for (const problem of problems) {
      expect(problem).not.toBeNull();
      expect(problem).not.toMatch(/--/);
    }
    expect(problems[0]).toMatch(/^Snapshot is empty: .*customers/);
    expect(problems[1]).toMatch(/churn@production/);
  });

  it("puts the server's message in the form's words", () => {
    expect(inFormWords("--on-snapshot 'nope': no snapshot of that name; known: customers")).toBe(
      "Snapshot 'nope': no snapshot of that name; known: customers"
    );
    expect(inFormWords("--on-promotion 'churn' is not NAME@ALIAS")).toBe(
      "Model@alias 'churn' is not NAME@ALIAS"
    );
    expect(inFormWords('the --cron field')).toBe('the Cron field');
  });

  it('names a schedule after the notebook', () => {
    expect(defaultScheduleName('nb/Score new data.ipynb')).toBe('Score-new-data');
  });
});

describe('the Schedule form', () => {
  it('shows the cron fields or the trigger field for the kind chosen', () => {
    const form = new ScheduleForm(PREVIEW, TEXT, new ParamsForm(PARAMS), '', {
      snapshot: ['customers', 'orders']
    });
    const cron = form.node.querySelector<HTMLElement>('.jp-mlops-schedule-cron')!;
    const trigger = form.node.querySelector<HTMLElement>('.jp-mlops-schedule-trigger')!;
    expect([cron.hidden, trigger.hidden]).toEqual([false, true]);
    form.kind.value = 'snapshot';
    form.kind.dispatchEvent(new Event('change'));
    expect([cron.hidden, trigger.hidden]).toEqual([true, false]);
    expect(trigger.textContent).toContain('Snapshot');
    const offered = [...trigger.querySelectorAll('datalist option')].map(o =>
      o.getAttribute('value')
    );
    expect(offered).toEqual(['customers', 'orders']);
    form.subject.value = 'customers';
    expect(form.getSchedule()).toEqual({
      name: 'score',
      cron: '',
      on_snapshot: ['customers'],
      timezone: 'UTC',
      params: {}
    });
  });

  it('comes back after an error with what was typed and why', () => {
    const first = new ScheduleForm(PREVIEW, TEXT, new ParamsForm(PARAMS));
    first.name.value = 'rescore';
    first.kind.value = 'promotion';
    first.subject.value = 'churn@prod';
    first.params.inputs[0].value = '0.7';
    const typed = first.getText();
    const problem = "--on-promotion 'churn@prod': no registered model 'churn'";
    const again = new ScheduleForm(PREVIEW, typed, new ParamsForm(PARAMS, typed.params), problem);
    expect(again.name.value).toBe('rescore');
    expect(again.kind.value).toBe('promotion');
    expect(again.subject.value).toBe('churn@prod');
    expect(again.params.inputs[0].value).toBe('0.7');
    expect(again.node.querySelector('.jp-mlops-error')?.textContent).toBe(problem);
    expect(again.node.querySelector<HTMLElement>('.jp-mlops-schedule-trigger')!.hidden).toBe(false);
  });
});

describe('the Promote form', () => {
  it('comes back after an error with what was typed and why', () => {
    const version = { name: 'churn', version: 2 } as any;
    const first = new PromoteForm(version);
    expect(first.alias.value).toBe('production');
    first.alias.value = 'staging';
    first.gates.value = 'accuracy>=0.9\nf1>=0.8';
    first.beat.value = 'production';
    const again = new PromoteForm(version, first.getText(), 'Beat "production" needs the metric');
    expect(again.getValue()).toEqual({
      alias: 'staging',
      require: ['accuracy>=0.9', 'f1>=0.8'],
      beat: 'production',
      on: undefined
    });
    expect(again.node.querySelector('[role=alert]')?.textContent).toBe(
      'Beat "production" needs the metric'
    );
    expect(new PromoteForm(version).node.querySelector('[role=alert]')).toBeNull();
  });
});
