/**
 * JSON Pointers of the places where two JSON documents differ: changed values, and keys or
 * array items present on one side only. Arrays are compared item by item.
 */
export function jsonDiff(a: unknown, b: unknown, at = ''): string[] {
  if (a === b) return [];
  const bothObjects = a && b && typeof a === 'object' && typeof b === 'object';
  if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) return [at];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...jsonDiff(a[i], b[i], `${at}/${i}`));
    return out;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
  const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  return keys.flatMap((k) => jsonDiff(ao[k], bo[k], `${at}/${escape(k)}`));
}
