import { formatAbsolute, formatRelative, timeElement, toEpochMs } from '../dates';

const NOW = Date.UTC(2026, 11, 6, 18, 0, 0);

describe('dates', () => {
  it('reads epoch milliseconds and ISO strings with an offset or Z as the same moment', () => {
    const ms = Date.UTC(2026, 11, 6, 17, 53, 0);
    expect(toEpochMs(ms)).toBe(ms);
    expect(toEpochMs('2026-12-06T17:53:00Z')).toBe(ms);
    expect(toEpochMs('2026-12-06T18:53:00+01:00')).toBe(ms);
    expect(toEpochMs('2026-12-06T17:53:00.000000+00:00')).toBe(ms);
    expect([toEpochMs(null), toEpochMs(''), toEpochMs('soon'), toEpochMs(0)]).toEqual([
      null,
      null,
      null,
      null
    ]);
  });

  it('says how long ago (or until) in one format', () => {
    expect(formatRelative(NOW - 10_000, NOW)).toBe('just now');
    expect(formatRelative(NOW - 7 * 60_000, NOW)).toBe('7 min ago');
    expect(formatRelative(NOW - 3 * 3600_000, NOW)).toBe('3 h ago');
    expect(formatRelative(NOW - 2 * 86400_000, NOW)).toBe('2 d ago');
    expect(formatRelative(NOW + 10 * 60_000, NOW)).toBe('in 10 min');
    expect(formatRelative(NOW - 90 * 86400_000, NOW)).toMatch(/2026/);
  });

  it('puts the absolute time on hover, whatever form the server sent', () => {
    const fromIso = timeElement('2026-12-06T17:53:00Z', NOW);
    const fromMs = timeElement(Date.UTC(2026, 11, 6, 17, 53, 0), NOW);
    expect(fromIso.textContent).toBe('7 min ago');
    expect(fromIso.title).toBe(formatAbsolute(Date.UTC(2026, 11, 6, 17, 53, 0)));
    expect([fromMs.textContent, fromMs.title]).toEqual([fromIso.textContent, fromIso.title]);
    expect(fromIso.getAttribute('datetime')).toBe('2026-12-06T17:53:00.000Z');
    expect(timeElement(null, NOW).textContent).toBe('');
  });
});
