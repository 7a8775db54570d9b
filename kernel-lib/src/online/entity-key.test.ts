import { describe, expect, it } from 'vitest';
import { decodeEntityKey, encodeEntityKey } from './entity-key';

describe('encodeEntityKey', () => {
  it('encodes to a compact JSON array (published vectors)', () => {
    expect(encodeEntityKey(['u1'])).toBe('["u1"]');
    expect(encodeEntityKey([42, 'de', true])).toBe('[42,"de",true]');
    expect(encodeEntityKey([false, -7, 0.5, 1e-7])).toBe('[false,-7,0.5,1e-7]');
    expect(encodeEntityKey([])).toBe('[]');
    expect(encodeEntityKey(['a"b,c]', 'ü\n'])).toBe('["a\\"b,c]","ü\\n"]');
  });

  it('integral number and bigint of the same value are the same key; -0 is 0', () => {
    expect(encodeEntityKey([42])).toBe(encodeEntityKey([42n]));
    expect(encodeEntityKey([-0])).toBe('[0]');
    expect(encodeEntityKey([1e21])).toBe('[1000000000000000000000]');
    expect(encodeEntityKey([2n ** 64n])).toBe('[18446744073709551616]');
    expect(encodeEntityKey([3.0])).toBe('[3]');
  });

  it('keeps types distinct otherwise', () => {
    const keys = [
      encodeEntityKey([42]),
      encodeEntityKey(['42']),
      encodeEntityKey([true]),
      encodeEntityKey(['true']),
      encodeEntityKey(['a', 'b']),
      encodeEntityKey(['a,b']),
      encodeEntityKey(['a","b']),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('rejects non-finite numbers and other types', () => {
    expect(() => encodeEntityKey([Number.NaN])).toThrow(/#0 is NaN/);
    expect(() => encodeEntityKey([1, Infinity])).toThrow(/#1 is Infinity/);
    expect(() => encodeEntityKey([null as unknown as string])).toThrow(/type object/);
    expect(() => encodeEntityKey([{} as unknown as string])).toThrow(/expected string/);
  });
});

describe('decodeEntityKey', () => {
  it('round-trips values, bigints beyond 2^53 stay bigint', () => {
    const cases: (string | number | bigint | boolean)[][] = [
      ['u1'],
      [42, 'de', true, false],
      [-7, 0.5, 1e-7, 123.456, -1.5e-300],
      ['', '"', '\\', ',', ']', '[', 'ü', '\u0000', '\ud83d\ude00'],
      [2n ** 64n, -(2n ** 63n)],
      [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      [],
    ];
    for (const values of cases) {
      expect(decodeEntityKey(encodeEntityKey(values))).toEqual(values);
    }
    expect(decodeEntityKey(encodeEntityKey([42n]))).toEqual([42]);
    // Doubles this large are integers: they share the bigint spelling and decode as bigint.
    expect(decodeEntityKey(encodeEntityKey([1e21]))).toEqual([10n ** 21n]);
  });

  it('rejects keys that are not canonical', () => {
    for (const bad of [
      '',
      'u1',
      '["a", "b"]', // whitespace
      '[042]',
      '[1.0]',
      '[1E3]',
      '[-0]',
      '["a"',
      '["a",]',
      '[,"a"]',
      '[null]',
      '["\\u0061"]', // escaped where JSON.stringify would not escape
      '[1e21]',
      '[tru]',
    ]) {
      expect(() => decodeEntityKey(bad), bad).toThrow(/not a canonical entity key/);
    }
  });
});
