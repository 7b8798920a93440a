import { promotionProblem } from '../forms';
import { ParamsForm } from '../forms';
import { ReproduceForm } from '../reproduceForm';

const PARAMS = [
  { name: 'lr', type: 'float', default: '0.1', help: '' },
  { name: 'epochs', type: 'int', default: '2', help: '' }
];

describe('the Run headless form', () => {
  it('comes back with what was typed and what was wrong', () => {
    const first = new ParamsForm(PARAMS);
    first.inputs[0].value = '0.5';
    first.inputs[1].value = 'three';
    expect(() => first.parsedValues()).toThrow('epochs');
    const again = new ParamsForm(PARAMS, first.getText(), 'epochs: "three" is not a valid int');
    expect(again.inputs.map(i => i.value)).toEqual(['0.5', 'three']);
    expect(again.node.querySelector('.jp-mlops-error')?.textContent).toBe(
      'epochs: "three" is not a valid int'
    );
    expect(new ParamsForm(PARAMS).node.querySelector('.jp-mlops-error')).toBeNull();
  });
});

describe('the Promote form', () => {
  it("names the form's fields, never the command line's options", () => {
    const beatOnly = promotionProblem({ alias: 'production', beat: 'production' });
    const onOnly = promotionProblem({ alias: 'production', on: 'accuracy' });
    const noAlias = promotionProblem({ alias: '' });
    for (const message of [beatOnly, onOnly, noAlias]) {
      expect(message).not.toBeNull();
      expect(message).not.toMatch(/--/);
    }
    expect(beatOnly).toMatch(/fill "on"/);
    expect(onOnly).toMatch(/fill "Beat"/);
    expect(promotionProblem({ alias: 'production', beat: 'staging', on: 'acc' })).toBeNull();
    expect(promotionProblem({ alias: 'production' })).toBeNull();
  });
});

describe('the Reproduce form', () => {
  it('asks for the recorded environment only when ticked, and allow-missing only with it', () => {
    const form = new ReproduceForm();
    document.body.append(form.node); // a click changes a checkbox of the page
    expect(form.getValue()).toEqual({});
    expect(form.allowMissing.disabled).toBe(true);
    form.isolated.click();
    expect(form.allowMissing.disabled).toBe(false);
    expect(form.getValue()).toEqual({ isolated: true, allow_missing: false });
    form.allowMissing.click();
    expect(form.getValue()).toEqual({ isolated: true, allow_missing: true });
    form.isolated.click(); // unticking the environment unticks and disables allow-missing
    expect(form.allowMissing.checked).toBe(false);
    expect(form.allowMissing.disabled).toBe(true);
    expect(form.getValue()).toEqual({});
    form.node.remove();
  });
});
