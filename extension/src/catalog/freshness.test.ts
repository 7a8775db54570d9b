import { describe, expect, it } from 'vitest';
import type { ViewMetadata } from '@plinth/schema';
import { describeFreshness, humanBytes, humanDuration } from './freshness';

const now = new Date('2026-11-22T12:00:00Z');
const base: ViewMetadata = {
  kind: 'feature-view',
  name: 'user_features',
  version: 2,
  description: null,
  team: null,
  owner: null,
  tags: {},
  entities: ['user'],
  schema: [],
  ttlSeconds: null,
  online: true,
  offline: null,
  freshness: {
    lastEventTime: null,
    lagSeconds: null,
    lastMaterializedAt: null,
    schedule: '0 2 * * *',
    updateFrequencySeconds: 86_400,
    nextRunAt: '2026-11-23T02:00:00.000Z',
    stale: true,
  },
  lastRun: null,
  consumers: { featureServices: [], exampleSets: [], models: [], deployments: [] },
};

describe('catalog freshness lines', () => {
  it('formats durations and sizes coarsely', () => {
    expect([59, 61, 7_200, 3 * 86_400].map(humanDuration)).toEqual(['59 s', '1 min', '2 h', '3 d']);
    expect([812, 1_234_567, 5e12].map(humanBytes)).toEqual(['812 B', '1.2 MB', '5.0 TB']);
  });

  it('says a scheduled view that never ran is stale and not materialized', () => {
    expect(describeFreshness(base, now)).toEqual({
      stale: true,
      lines: [
        'Stale: nothing committed for over two schedule intervals',
        'Not materialized yet',
        'Updates every 1 d (0 2 * * * UTC), next in 14 h',
      ],
    });
  });

  it('shows size and the newest event of a fresh view, and a failed last run', () => {
    const m: ViewMetadata = {
      ...base,
      offline: { rows: 1_234_567, bytes: 9_876_543, files: 2, committedAt: '2026-11-22T02:05:00Z' },
      freshness: { ...base.freshness, lastEventTime: '2026-11-22T09:00:00Z', stale: false },
      lastRun: { jobId: 'j', status: 'failed', attempts: 3, finishedAt: null, error: 'disk full' },
    };
    expect(describeFreshness(m, now).lines).toEqual([
      '1,234,567 rows · 9.9 MB',
      'Newest event 3 h ago',
      'Updates every 1 d (0 2 * * * UTC), next in 14 h',
      'Last run failed: disk full',
    ]);
    expect(describeFreshness({ ...m, freshness: { ...m.freshness, schedule: null } }, now).lines[2]).toBe(
      'No schedule: updated by hand',
    );
  });
});
