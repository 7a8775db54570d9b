/**
 * The run search language (docs/runs.md): clauses joined by AND, MLflow's syntax.
 *
 *   metrics.auc > 0.8 AND params.model = 'gbt' AND tags.team IN ('growth', 'ads') AND status = 'finished'
 *
 * A clause compares a metric (its latest value), a parameter, a tag or a run attribute with a
 * literal. Errors name the character position and what was expected, so a 400 can say exactly
 * what is wrong.
 */

/** What a clause or an ordering refers to. */
export type FieldKind = 'metric' | 'param' | 'tag' | 'attribute';

/** Run attributes that can be filtered and ordered on, by their search name. */
export const ATTRIBUTES = [
  'id',
  'experiment',
  'name',
  'status',
  'start_time',
  'end_time',
  'created_by',
  'example_set',
  'example_set_version',
] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export interface Clause {
  kind: FieldKind;
  /** Metric, parameter or tag key, or the attribute's name. */
  key: string;
  op: Comparator;
  value: number | string | (number | string)[];
}

export interface OrderTerm {
  kind: FieldKind;
  key: string;
  descending: boolean;
}

/** A filter or ordering that cannot be parsed; `message` says where and why. */
export class RunQueryError extends Error {
  constructor(
    message: string,
    /** 'filter' or 'orderBy[i]', for the problem's field pointer. */
    readonly field: string,
  ) {
    super(message);
  }
}

const PREFIXES: Record<string, FieldKind> = {
  metrics: 'metric',
  metric: 'metric',
  params: 'param',
  param: 'param',
  tags: 'tag',
  tag: 'tag',
  attributes: 'attribute',
  attribute: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};
const ATTRIBUTE_ALIASES: Record<string, Attribute> = {
  run_id: 'id',
  run_name: 'name',
  experiment_name: 'experiment',
  start: 'start_time',
  end: 'end_time',
  user: 'created_by',
  example_set_name: 'example_set',
};
const NUMERIC_ATTRIBUTES = new Set<Attribute>(['example_set_version']);
const TIME_ATTRIBUTES = new Set<Attribute>(['start_time', 'end_time']);

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'quoted-ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'punct'; v: '(' | ')' | ',' | '.'; pos: number }
  | { t: 'end'; pos: number };

function tokenize(src: string, field: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw new RunQueryError(`${field}: ${msg} at character ${at + 1}`, field);
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"' || c === '`') {
      // Quotes double to escape themselves ('it''s'); backticks quote identifiers.
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) fail(`unterminated ${c === '`' ? 'identifier' : 'string'} starting`, start);
        if (src[i] === c) {
          if (src[i + 1] === c) {
            v += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += src[i++];
      }
      out.push({ t: c === '`' ? 'quoted-ident' : 'string', v, pos: start });
      continue;
    }
    const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i));
    // A sign starts a number only where a value may start (after an operator, '(' or ',').
    const prev = out.at(-1);
    const valueMayStart = !prev || prev.t === 'op' || (prev.t === 'punct' && (prev.v === '(' || prev.v === ','));
    if (num && (/\d|\./.test(c) || valueMayStart)) {
      out.push({ t: 'number', v: Number(num[0]), pos: start });
      i += num[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|==|=|<|>)/.exec(src.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] === '<>' ? '!=' : op[0] === '==' ? '=' : op[0], pos: start });
      i += op[0].length;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.') {
      out.push({ t: 'punct', v: c, pos: start });
      i++;
      continue;
    }
    const id = /^[A-Za-z0-9_:/-]+/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0], pos: start });
      i += id[0].length;
      continue;
    }
    fail(`unexpected '${c}'`);
  }
  out.push({ t: 'end', pos: src.length });
  return out;
}

class Parser {
  private k = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly field: string,
  ) {}

  peek(): Token {
    return this.tokens[this.k];
  }
  next(): Token {
    return this.tokens[this.k++];
  }
  fail(msg: string, tok: Token = this.peek()): never {
    throw new RunQueryError(`${this.field}: ${msg} at character ${tok.pos + 1}`, this.field);
  }
  isWord(tok: Token, word: string): tok is Extract<Token, { t: 'ident' }> {
    return tok.t === 'ident' && tok.v.toUpperCase() === word;
  }

  /** `metrics.auc`, `params.\`learning rate\``, `status`, `attributes.start_time`. */
  fieldRef(): { kind: FieldKind; key: string } {
    const tok = this.next();
    if (tok.t !== 'ident' && tok.t !== 'quoted-ident')
      this.fail('expected a field such as metrics.auc, params.model, tags.team or status', tok);
    const prefix = tok.t === 'ident' ? PREFIXES[tok.v.toLowerCase()] : undefined;
    const dot = this.peek();
    if (prefix && dot.t === 'punct' && dot.v === '.') {
      this.next();
      // Keys may contain dots (metrics.validation.auc): take every dotted part.
      const parts: string[] = [];
      for (;;) {
        const part = this.next();
        if (part.t === 'ident' || part.t === 'quoted-ident' || part.t === 'string') parts.push(part.v);
        else if (part.t === 'number' && Number.isInteger(part.v) && part.v >= 0) parts.push(String(part.v));
        else this.fail(`expected a ${prefix} key after '${tok.v}.'`, part);
        const after = this.peek();
        if (after.t === 'punct' && after.v === '.') this.next();
        else break;
      }
      const key = parts.join('.');
      if (prefix === 'attribute') return { kind: 'attribute', key: this.attribute(key, tok) };
      if (!/^[A-Za-z0-9_.:/-]{1,250}$/.test(key)) this.fail(`'${key}' is not a valid ${prefix} key`, tok);
      return { kind: prefix, key };
    }
    if (tok.t === 'ident') return { kind: 'attribute', key: this.attribute(tok.v, tok) };
    return this.fail(`expected a field such as metrics.auc or status, not \`${tok.v}\``, tok);
  }

  attribute(name: string, tok: Token): Attribute {
    const lower = name.toLowerCase();
    const a = (ATTRIBUTES as readonly string[]).includes(lower) ? (lower as Attribute) : ATTRIBUTE_ALIASES[lower];
    if (!a)
      this.fail(
        `unknown field '${name}': use metrics.<key>, params.<key>, tags.<key> or one of ${ATTRIBUTES.join(', ')}`,
        tok,
      );
    return a;
  }

  literal(): number | string {
    const tok = this.next();
    if (tok.t === 'number' || tok.t === 'string') return tok.v;
    return this.fail("expected a number or a quoted string ('gbt')", tok);
  }

  clause(): Clause {
    const start = this.peek();
    const { kind, key } = this.fieldRef();
    const opTok = this.next();
    let op: Comparator;
    if (opTok.t === 'op') op = opTok.v as Comparator;
    else if (this.isWord(opTok, 'LIKE') || this.isWord(opTok, 'ILIKE') || this.isWord(opTok, 'IN'))
      op = opTok.v.toUpperCase() as Comparator;
    else if (this.isWord(opTok, 'NOT') && this.isWord(this.peek(), 'IN')) {
      this.next();
      op = 'NOT IN';
    } else return this.fail(`expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN) after '${key}'`, opTok);
    let value: Clause['value'];
    if (op === 'IN' || op === 'NOT IN') {
      const open = this.next();
      if (open.t !== 'punct' || open.v !== '(') this.fail(`expected '(' after ${op}`, open);
      const list: (number | string)[] = [this.literal()];
      for (;;) {
        const sep = this.next();
        if (sep.t === 'punct' && sep.v === ',') list.push(this.literal());
        else if (sep.t === 'punct' && sep.v === ')') break;
        else this.fail("expected ',' or ')' in the list", sep);
      }
      value = list;
    } else value = this.literal();
    return checkClause({ kind, key, op, value }, (msg) => this.fail(msg, start));
  }

  filter(): Clause[] {
    if (this.peek().t === 'end') return [];
    const clauses = [this.clause()];
    for (;;) {
      const tok = this.next();
      if (tok.t === 'end') return clauses;
      if (this.isWord(tok, 'AND')) clauses.push(this.clause());
      else if (this.isWord(tok, 'OR')) this.fail('OR is not supported: run one search per alternative', tok);
      else this.fail('expected AND or the end of the filter', tok);
    }
  }
}

/** Which comparisons each kind of field accepts, and with which literal types. */
function checkClause(c: Clause, fail: (msg: string) => never): Clause {
  const values = Array.isArray(c.value) ? c.value : [c.value];
  const allNumbers = values.every((v) => typeof v === 'number');
  const allStrings = values.every((v) => typeof v === 'string');
  const name = c.kind === 'attribute' ? c.key : `${c.kind}s.${c.key}`;
  const ordering = ['<', '<=', '>', '>='].includes(c.op);
  if (c.kind === 'metric') {
    if (!allNumbers) fail(`${name} is a number: compare it with a number`);
    if (c.op === 'LIKE' || c.op === 'ILIKE') fail(`${name} is a number: LIKE does not apply`);
  } else if (c.kind === 'tag') {
    if (!allStrings) fail(`${name} is a string: quote the value ('...')`);
    if (ordering) fail(`${name} is a string: use =, !=, LIKE, ILIKE or IN`);
  } else if (c.kind === 'param') {
    // Parameters are strings; a number compares with the parameters that are numbers.
    if ((c.op === 'LIKE' || c.op === 'ILIKE') && !allStrings) fail(`${c.op} needs a quoted pattern`);
    if (ordering && !allNumbers) fail(`${name} can only be ordered against a number (params.x > 10)`);
    if (!allNumbers && !allStrings) fail(`the list mixes numbers and strings`);
  } else {
    const a = c.key as Attribute;
    if (NUMERIC_ATTRIBUTES.has(a)) {
      if (!allNumbers) fail(`${name} is a number`);
      if (c.op === 'LIKE' || c.op === 'ILIKE') fail(`${name} is a number: LIKE does not apply`);
    } else if (TIME_ATTRIBUTES.has(a)) {
      if (c.op === 'LIKE' || c.op === 'ILIKE' || c.op === 'IN' || c.op === 'NOT IN')
        fail(`${name} is a time: use =, !=, <, <=, > or >=`);
      for (const v of values)
        if (typeof v === 'string' ? Number.isNaN(Date.parse(v)) : !Number.isFinite(v))
          fail(`${name} compares with an ISO 8601 time ('2026-11-28T10:00:00Z') or milliseconds since 1970`);
    } else {
      if (!allStrings) fail(`${name} is a string: quote the value ('...')`);
      if (ordering) fail(`${name} is a string: use =, !=, LIKE, ILIKE or IN`);
      if (a === 'status')
        for (const v of values)
          if (!['running', 'finished', 'failed', 'killed'].includes(String(v).toLowerCase()))
            fail(`status is one of running, finished, failed, killed, not '${v}'`);
    }
  }
  return c;
}

/**
 * Parses a search filter into clauses (all must hold).
 *
 * @example
 * parseRunFilter("metrics.auc > 0.8 AND params.model = 'gbt'");
 * // [{ kind: 'metric', key: 'auc', op: '>', value: 0.8 }, { kind: 'param', key: 'model', op: '=', value: 'gbt' }]
 */
export function parseRunFilter(filter: string | undefined): Clause[] {
  if (!filter || !filter.trim()) return [];
  return new Parser(tokenize(filter, 'filter'), 'filter').filter();
}

/**
 * Parses orderings such as `metrics.auc DESC` or `start_time`; the default direction is ascending.
 *
 * @example
 * parseRunOrder(['metrics.auc DESC']); // [{ kind: 'metric', key: 'auc', descending: true }]
 */
export function parseRunOrder(orderBy: string[] | undefined): OrderTerm[] {
  return (orderBy ?? []).map((term, i) => {
    const field = `orderBy[${i}]`;
    const p = new Parser(tokenize(term, field), field);
    const { kind, key } = p.fieldRef();
    let descending = false;
    const dir = p.next();
    if (p.isWord(dir, 'DESC')) descending = true;
    else if (dir.t !== 'end' && !p.isWord(dir, 'ASC')) p.fail('expected ASC, DESC or the end', dir);
    if (dir.t !== 'end' && p.next().t !== 'end') p.fail('expected the end after the direction');
    return { kind, key, descending };
  });
}
