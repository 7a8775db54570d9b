import { describe, expect, it } from 'vitest';
import { parseRunFilter, parseRunOrder, RunQueryError } from './run-filter';

describe('parseRunFilter', () => {
  it('parses clauses on metrics, parameters, tags and attributes', () => {
    expect(
      parseRunFilter(
        "metrics.auc > 0.8 AND params.model = 'gbt' and tags.team IN ('growth', \"ads\") AND status = 'finished'",
      ),
    ).toEqual([
      { kind: 'metric', key: 'auc', op: '>', value: 0.8 },
      { kind: 'param', key: 'model', op: '=', value: 'gbt' },
      { kind: 'tag', key: 'team', op: 'IN', value: ['growth', 'ads'] },
      { kind: 'attribute', key: 'status', op: '=', value: 'finished' },
    ]);
  });

  it('takes dotted and quoted keys, negative numbers, escaped quotes and aliases', () => {
    expect(
      parseRunFilter(
        "metrics.validation.auc >= -1e-3 AND params.`learning_rate` != '0.1' AND tags.note LIKE 'it''s%' AND attributes.run_name ILIKE 'GBT%' AND params.num_leaves NOT IN (31, 63) AND start_time > '2026-11-01T00:00:00Z'",
      ),
    ).toEqual([
      { kind: 'metric', key: 'validation.auc', op: '>=', value: -0.001 },
      { kind: 'param', key: 'learning_rate', op: '!=', value: '0.1' },
      { kind: 'tag', key: 'note', op: 'LIKE', value: "it's%" },
      { kind: 'attribute', key: 'name', op: 'ILIKE', value: 'GBT%' },
      { kind: 'param', key: 'num_leaves', op: 'NOT IN', value: [31, 63] },
      { kind: 'attribute', key: 'start_time', op: '>', value: '2026-11-01T00:00:00Z' },
    ]);
    expect(parseRunFilter('  ')).toEqual([]);
    expect(parseRunFilter(undefined)).toEqual([]);
  });

  it.each([
    ['metrics.auc >', /expected a number or a quoted string \('gbt'\) at character 14/],
    ["metrics.auc = 'high'", /metrics.auc is a number: compare it with a number at character 1/],
    ['params.model = gbt', /expected a number or a quoted string/],
    ["params.model > 'a'", /params.model can only be ordered against a number/],
    ['tags.team = 3', /tags.team is a string: quote the value/],
    ["tags.team < 'x'", /tags.team is a string: use =, !=, LIKE, ILIKE or IN/],
    ["colour = 'red'", /unknown field 'colour': use metrics.<key>, params.<key>, tags.<key> or one of id, experiment/],
    ["status = 'done'", /status is one of running, finished, failed, killed, not 'done'/],
    ['metrics.auc > 0.8 OR metrics.auc < 0.2', /OR is not supported: run one search per alternative at character 19/],
    ['metrics.auc > 0.8 metrics.f1 > 0.5', /expected AND or the end of the filter at character 19/],
    ["params.model = 'gbt", /unterminated string starting at character 16/],
    ['metrics.auc ~ 0.8', /unexpected '~' at character 13/],
    ["params.model IN 'a'", /expected '\(' after IN/],
    ["start_time > 'yesterday'", /start_time compares with an ISO 8601 time/],
    ["params.x IN (1, 'a')", /the list mixes numbers and strings/],
    ["params.`learning rate` = '0.1'", /'learning rate' is not a valid param key at character 1/],
  ])('rejects %s with a message naming the place', (filter, message) => {
    let err: unknown;
    try {
      parseRunFilter(filter);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunQueryError);
    expect((err as RunQueryError).message).toMatch(message);
    expect((err as RunQueryError).field).toBe('filter');
  });
});

describe('parseRunOrder', () => {
  it('parses fields with directions', () => {
    expect(parseRunOrder(['metrics.auc DESC', 'params.lr', 'start_time asc'])).toEqual([
      { kind: 'metric', key: 'auc', descending: true },
      { kind: 'param', key: 'lr', descending: false },
      { kind: 'attribute', key: 'start_time', descending: false },
    ]);
    expect(parseRunOrder(undefined)).toEqual([]);
  });

  it('names the term that is wrong', () => {
    expect(() => parseRunOrder(['metrics.auc', 'metrics.f1 DOWN'])).toThrow(
      /orderBy\[1\]: expected ASC, DESC or the end at character 12/,
    );
    expect(() => parseRunOrder(['size'])).toThrow(/orderBy\[0\]: unknown field 'size'/);
  });
});
