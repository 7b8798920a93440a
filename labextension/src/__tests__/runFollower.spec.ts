import { RunFollower } from '../runFollower';
import { IHeadlessRun } from '../tokens';

function run(id: string, done: boolean, output: string | null = 'out.ipynb'): IHeadlessRun {
  return {
    id,
    kind: 'headless',
    label: id,
    notebook: 'train.ipynb',
    status: done ? 'FINISHED' : 'RUNNING',
    error: null,
    report: null,
    done,
    run_id: null,
    output_path: done ? output : null,
    progress: null
  };
}

describe('which headless runs open when done', () => {
  it('opens a run started here even when no poll saw it running', () => {
    const follower = new RunFollower();
    follower.follow('a');
    expect(follower.toOpen([run('a', true)]).map(r => r.id)).toEqual(['a']);
    expect(follower.toOpen([run('a', true)])).toEqual([]);
  });

  it('opens a run once it was seen running, and never one only seen done', () => {
    const follower = new RunFollower();
    expect(follower.toOpen([run('old', true), run('b', false)])).toEqual([]);
    expect(follower.toOpen([run('old', true), run('b', true)]).map(r => r.id)).toEqual(['b']);
  });

  it('waits for an output before opening, and reopens a run followed again', () => {
    const follower = new RunFollower();
    follower.follow('c');
    expect(follower.toOpen([run('c', true, null)])).toEqual([]);
    expect(follower.toOpen([run('c', true)]).map(r => r.id)).toEqual(['c']);
    follower.follow('c');
    expect(follower.toOpen([run('c', true)]).map(r => r.id)).toEqual(['c']);
  });
});
