/**
 * Canonical entity keys: the string under which an entity's online row is stored.
 *
 * Format: a JSON array with no whitespace. Strings are JSON strings; booleans `true`/`false`;
 * integral numbers and bigints are plain decimal digits (so 42 and 42n are the same key, and
 * -0 is 0); other numbers use JavaScript's shortest round-trip form (`0.5`, `1e-7`). Types
 * otherwise stay distinct: "42" (string) and 42 (number) are different entities. The same
 * values always give the same string, and every key decodes back to its values.
 */
export type EntityKeyValue = string | number | bigint | boolean;

const INTEGER_RE = /^-?(0|[1-9]\d*)$/;

function encodeValue(v: EntityKeyValue, index: number): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v)) {
        throw new TypeError(`entity key value #${index} is ${v}; key numbers must be finite`);
      }
      // BigInt keeps large integers (1e21) in digits, not exponent form, and maps -0 to 0.
      return Number.isInteger(v) ? BigInt(v).toString() : JSON.stringify(v);
    default:
      throw new TypeError(
        `entity key value #${index} has type ${typeof v}; expected string, number, bigint or boolean`,
      );
  }
}

export function encodeEntityKey(values: readonly EntityKeyValue[]): string {
  if (!Array.isArray(values)) throw new TypeError('entity key must be an array of values');
  return `[${values.map(encodeValue).join(',')}]`;
}

/**
 * Inverse of `encodeEntityKey`. Integers come back as numbers when safe, as bigints beyond
 * 2^53. Throws on anything `encodeEntityKey` would not have produced, so one entity can never
 * hide under two spellings.
 */
export function decodeEntityKey(key: string): EntityKeyValue[] {
  const fail = (why: string): never => {
    throw new Error(`not a canonical entity key (${why}): ${JSON.stringify(key)}`);
  };
  if (typeof key !== 'string' || key[0] !== '[' || key[key.length - 1] !== ']') {
    return fail('expected a JSON array');
  }
  const out: EntityKeyValue[] = [];
  let i = 1;
  const end = key.length - 1;
  while (i < end) {
    if (out.length > 0) {
      if (key[i] !== ',') fail(`expected "," at ${i}`);
      i++;
    }
    const c = key[i];
    if (c === '"') {
      let j = i + 1;
      while (j < end && key[j] !== '"') j += key[j] === '\\' ? 2 : 1;
      if (j >= end) fail('unterminated string');
      out.push(JSON.parse(key.slice(i, j + 1)) as string);
      i = j + 1;
    } else if (key.startsWith('true', i)) {
      out.push(true);
      i += 4;
    } else if (key.startsWith('false', i)) {
      out.push(false);
      i += 5;
    } else {
      const m = /-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/y;
      m.lastIndex = i;
      const tok = m.exec(key)?.[0];
      if (!tok) return fail(`unexpected character at ${i}`);
      if (INTEGER_RE.test(tok)) {
        const big = BigInt(tok);
        const n = Number(big);
        out.push(Number.isSafeInteger(n) ? n : big);
      } else {
        out.push(Number(tok));
      }
      i += tok.length;
    }
  }
  if (i !== end) fail('trailing characters');
  if (encodeEntityKey(out) !== key) fail('not in canonical form');
  return out;
}
