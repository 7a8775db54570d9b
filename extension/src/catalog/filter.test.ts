import { describe, expect, it } from 'vitest';
import type { FeatureViewRecord } from '../api';
import { filterFeatureViews } from './filter';

const view = (name: string, description?: string): FeatureViewRecord => ({
  name,
  version: 1,
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'test',
  spec: { name, description, entities: ['user'], sql: 'SELECT 1', timestampColumn: 'ts', features: [] },
});

describe('filterFeatureViews', () => {
  const items = [view('user_features', 'Engagement so far'), view('product_features', 'Popularity and price')];
  it('sorts by name and keeps all for an empty query', () => {
    expect(filterFeatureViews(items, ' ').map((v) => v.name)).toEqual(['product_features', 'user_features']);
  });
  it('matches name or description, case-insensitively', () => {
    expect(filterFeatureViews(items, 'USER').map((v) => v.name)).toEqual(['user_features']);
    expect(filterFeatureViews(items, 'price').map((v) => v.name)).toEqual(['product_features']);
    expect(filterFeatureViews(items, 'nothing')).toEqual([]);
  });
});
