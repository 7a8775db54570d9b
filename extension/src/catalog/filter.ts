import type { FeatureViewRecord } from '../api';

/** Case-insensitive match on the view's name and description (the search box). */
export function filterFeatureViews(items: readonly FeatureViewRecord[], query: string): FeatureViewRecord[] {
  const q = query.trim().toLowerCase();
  const sorted = [...items].sort((a, b) => a.name.localeCompare(b.name));
  if (!q) return sorted;
  return sorted.filter(
    (fv) => fv.name.toLowerCase().includes(q) || (fv.spec.description ?? '').toLowerCase().includes(q),
  );
}
