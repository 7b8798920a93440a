import { sideBySide } from '../lineDiff';

describe('sideBySide', () => {
  it('keeps shared lines aligned and pairs the changed ones', () => {
    const rows = sideBySide('a\nb\nc\nd', 'a\nB\nc\nd\ne');
    expect(rows.map(r => [r.left, r.right, r.kind])).toEqual([
      ['a', 'a', 'same'],
      ['b', 'B', 'change'],
      ['c', 'c', 'same'],
      ['d', 'd', 'same'],
      [null, 'e', 'ins']
    ]);
  });

  it('shows a removed or an added cell on one side only', () => {
    expect(sideBySide('x = 1', '').map(r => r.kind)).toEqual(['del']);
    expect(sideBySide('', 'y = 2\nz = 3').map(r => r.kind)).toEqual(['ins', 'ins']);
  });

  it('is exact for identical texts', () => {
    expect(sideBySide('p\nq', 'p\nq').every(r => r.kind === 'same')).toBe(true);
  });
});
