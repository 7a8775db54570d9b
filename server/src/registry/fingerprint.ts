import type { FeatureView, LabelView } from '@plinth/schema';
import { sha256 } from '../util/hash';

/**
 * SQL reduced to what it means for duplicate detection: comments dropped, whitespace
 * collapsed, keywords and identifiers lower-cased; string literals kept exactly.
 */
export function normalizeSql(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      // A string literal ('' escapes a quote): kept as is.
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out += ' ';
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += ' ';
    } else if (c === '"') {
      // A quoted identifier means the same as the bare one when it is a plain name.
      const end = sql.indexOf('"', i + 1);
      const name = sql.slice(i + 1, end < 0 ? sql.length : end);
      out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name.toLowerCase() : `"${name}"`;
      i = end < 0 ? sql.length : end + 1;
    } else {
      out += c.toLowerCase();
      i++;
    }
  }
  return out
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),=<>+*/;-])\s*/g, '$1')
    .replace(/;+$/, '')
    .trim();
}

/**
 * What makes two views "the same definition": the same normalised SQL over the same sources
 * for the same entities. Names, descriptions and owners do not count.
 */
export function viewFingerprint(view: FeatureView | LabelView): string {
  return sha256(
    JSON.stringify({
      entities: [...view.entities].sort(),
      sources: [...(view.sources ?? [])].sort(),
      sql: normalizeSql(view.sql),
      timestamp: view.timestampColumn.toLowerCase(),
    }),
  );
}
