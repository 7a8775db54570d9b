import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { assertValid, buildOpenApi, documentKinds, ProblemError, validate } from './index';

const userEntity = { name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }], description: 'A shopper' };
const featureView = {
  name: 'user_features',
  entities: ['user'],
  sources: ['impressions'],
  sql: 'select user_id, ts, 1.0 as ctr from impressions',
  timestampColumn: 'ts',
  features: [{ name: 'ctr', type: 'float64' }],
  ttlSeconds: 86400,
};

describe('validators', () => {
  it('accepts valid documents', () => {
    expect(validate('entity', userEntity).ok).toBe(true);
    expect(validate('feature-view', featureView).ok).toBe(true);
  });

  it('names the invalid field by JSON pointer', () => {
    const r = validate('entity', { name: 'User', joinKeys: [{ name: 'user_id', type: 'uuid' }], colour: 1 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const pointers = r.errors.map((e) => e.pointer).sort();
    expect(pointers).toEqual(['/colour', '/joinKeys/0/type', '/name']);
    expect(r.errors.find((e) => e.pointer === '/joinKeys/0/type')?.detail).toContain('"int64"');
  });

  it('reports missing required fields under their own name', () => {
    const { sql: _omit, ...noSql } = featureView;
    const r = validate('feature-view', noSql);
    expect(r.ok ? [] : r.errors).toEqual([{ pointer: '/sql', detail: 'is required' }]);
  });

  it('picks the matching branch of a oneOf', () => {
    const pipeline = {
      name: 'ctr',
      inputs: [{ name: 'x', source: { kind: 'online', view: 'v' } }],
      transformer: [],
      model: { kind: 'logisticRegression', featureNames: ['x'], coefficients: [1], intercept: 0 },
      outputs: [{ name: 'probability', type: 'float32' }],
    };
    const r = validate('pipeline', pipeline);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.some((e) => e.pointer === '/inputs/0/source/feature')).toBe(true);
  });

  it('reports only the errors of the oneOf branch whose kind the document has', () => {
    const pipeline = {
      name: 'ctr',
      inputs: [{ name: 'x', source: { kind: 'request' } }],
      transformer: [],
      model: {
        kind: 'multinomialLogisticRegression',
        featureNames: ['x'],
        classes: [0, 1, 2],
        coefficients: [[1], [2], [3]],
        intercepts: [0, 0, 0],
      },
      outputs: [{ name: 'probabilities', type: 'float32' }],
    };
    const errors = (post: unknown) => {
      const r = validate('pipeline', { ...pipeline, postprocessor: post });
      return r.ok ? [] : r.errors;
    };
    expect(errors({ kind: 'topK', k: 0 })).toEqual([{ pointer: '/postprocessor/k', detail: 'must be >= 1' }]);
    expect(errors({ kind: 'classMapping' })).toEqual([{ pointer: '/postprocessor/classes', detail: 'is required' }]);
    expect(errors({ kind: 'top' })).toEqual([
      { pointer: '/postprocessor/kind', detail: 'must be one of "identity", "threshold", "topK", "classMapping"' },
    ]);
    expect(errors({ kind: 'threshold', threshold: 0.5, labels: ['no', 'yes'] })).toEqual([]);
  });

  it('assertValid throws a 400 problem listing the fields', () => {
    try {
      assertValid('deploy-request', { model: 3 });
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ProblemError);
      const p = (e as ProblemError).problem;
      expect(p.status).toBe(400);
      expect(p.errors?.[0].pointer).toBe('/model');
    }
  });

  it('compiles every document kind', () => {
    for (const k of documentKinds) expect(() => validate(k, {})).not.toThrow();
  });
});

describe('OpenAPI', () => {
  it('is a 3.1 document whose every $ref resolves', () => {
    const doc = buildOpenApi('0.0.0') as { openapi: string; paths: object; components: { schemas: object } };
    expect(doc.openapi).toBe('3.1.0');
    const refs: string[] = [];
    const walk = (n: unknown) => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === '$ref') refs.push(v as string);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) {
      let node: unknown = doc;
      for (const part of r.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)?.[part];
      expect(node, r).toBeTypeOf('object');
    }
    // Its component schemas are valid JSON Schema 2020-12.
    const ajv = new Ajv2020({ strict: false });
    expect(() => ajv.compile({ ...doc.components.schemas, $defs: doc.components.schemas })).not.toThrow();
  });
});

describe('generated types', () => {
  it('are up to date with schemas/*.json', () => {
    execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'gen-types.js'), '--check']);
  });
});
