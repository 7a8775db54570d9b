/**
 * String (categorical) features as numbers: a vocabulary is the sorted list of a feature's
 * distinct values, and a value's code is its index there. Training encodes string columns with
 * it, and the compiled graph does the same with an ai.onnx.ml LabelEncoder, so both see the
 * same codes. null, undefined and '' mean missing.
 */

/** Code-unit order, the same in every locale (localeCompare is not). */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The sorted distinct values of a string column, without missing values (null, undefined, '').
 *
 * @example
 * fitVocabulary(['fr', 'de', null, 'fr', '']); // ['de', 'fr']
 */
export function fitVocabulary(values: Iterable<string | null | undefined>): string[] {
  const seen = new Set<string>();
  for (const v of values) if (typeof v === 'string' && v.length > 0) seen.add(v);
  return [...seen].sort(byCodeUnits);
}

/**
 * Replaces each value by its index in `categories`; a value not among them, or a missing one
 * (null, undefined, ''), becomes `fallback` (default NaN).
 *
 * @example
 * encodeStrings(['fr', 'xx', null], ['de', 'fr']); // Float64Array [1, NaN, NaN]
 * encodeStrings(['fr', 'xx', null], ['de', 'fr'], 0); // Float64Array [1, 0, 0]
 */
export function encodeStrings(
  values: ArrayLike<string | null | undefined>,
  categories: readonly string[],
  fallback = NaN,
): Float64Array {
  const index = new Map(categories.map((c, k) => [c, k]));
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = (typeof v === 'string' ? index.get(v) : undefined) ?? fallback;
  }
  return out;
}
