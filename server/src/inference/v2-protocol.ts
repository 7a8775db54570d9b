/**
 * The Open Inference Protocol v2 (KServe / Triton REST): server and model health, metadata,
 * readiness and infer, with the binary tensor data extension that Triton's clients use by
 * default. A v2 "model" is a deployment; its versions are the model versions it serves
 * (primary, canary, shadow). Inputs are the entity keys and request-time features (the online
 * features are read from the online store), or every feature as tensors.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problem, ProblemError, type FieldError } from '@plinth/schema';
import { VERSION } from '../version';
import type { LoadedModel, ModelCache, ServedDeployment } from './model-cache';
import type { Predictor } from './predictor';
import type { Instance } from './score';

interface TensorIn {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  parameters?: { binary_data_size?: unknown };
  data?: unknown;
}
interface InferRequest {
  id?: unknown;
  parameters?: { binary_data_output?: unknown };
  inputs?: unknown;
  outputs?: { name?: unknown; parameters?: { binary_data?: unknown } }[];
}
interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

const bad = (detail: string, errors: FieldError[]) =>
  new ProblemError(problem(400, 'Invalid inference request', detail, errors));

/** The tensors a client sends: each view's join keys, then the request-time inputs. */
function inputsOf(m: LoadedModel): TensorMeta[] {
  const out = new Map<string, TensorMeta>();
  for (const v of m.views.values())
    for (const k of v.joinKeys)
      out.set(k.name, { name: k.name, datatype: k.type === 'string' ? 'BYTES' : 'INT64', shape: [-1] });
  for (const i of m.inputs)
    if (i.source.kind === 'request')
      out.set(i.name, { name: i.name, datatype: i.type === 'string' ? 'BYTES' : 'FP32', shape: [-1] });
  return [...out.values()];
}

const V2_TYPES: Record<string, string> = { float32: 'FP32', int64: 'INT64', string: 'BYTES' };

function outputsOf(m: LoadedModel): TensorMeta[] {
  return m.session.outputNames.map((name) => ({
    name,
    datatype: V2_TYPES[m.session.outputTypes[name]] ?? 'BYTES',
    shape: m.session.outputShapes[name].length ? m.session.outputShapes[name] : [-1],
  }));
}

/** Element size of each fixed-width v2 datatype. */
const WIDTH: Record<string, number> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  INT32: 4,
  UINT32: 4,
  INT64: 8,
  UINT64: 8,
  FP32: 4,
  FP64: 8,
};

function decodeBinary(t: TensorMeta, buf: Buffer, pointer: string): (number | string | boolean)[] {
  if (t.datatype === 'BYTES') {
    const out: string[] = [];
    for (let o = 0; o < buf.length;) {
      if (o + 4 > buf.length)
        throw bad(`input '${t.name}': truncated BYTES element`, [{ pointer, detail: 'truncated' }]);
      const n = buf.readUInt32LE(o);
      out.push(buf.toString('utf8', o + 4, o + 4 + n));
      o += 4 + n;
    }
    return out;
  }
  const w = WIDTH[t.datatype];
  if (buf.length % w)
    throw bad(`input '${t.name}': ${buf.length} bytes is not a whole number of ${t.datatype}`, [
      { pointer, detail: 'wrong size' },
    ]);
  const n = buf.length / w;
  const out = new Array<number | boolean>(n);
  for (let i = 0; i < n; i++) {
    const o = i * w;
    switch (t.datatype) {
      case 'BOOL':
        out[i] = buf[o] !== 0;
        break;
      case 'INT8':
        out[i] = buf.readInt8(o);
        break;
      case 'UINT8':
        out[i] = buf[o];
        break;
      case 'INT16':
        out[i] = buf.readInt16LE(o);
        break;
      case 'UINT16':
        out[i] = buf.readUInt16LE(o);
        break;
      case 'INT32':
        out[i] = buf.readInt32LE(o);
        break;
      case 'UINT32':
        out[i] = buf.readUInt32LE(o);
        break;
      case 'INT64':
        out[i] = Number(buf.readBigInt64LE(o));
        break;
      case 'UINT64':
        out[i] = Number(buf.readBigUInt64LE(o));
        break;
      case 'FP32':
        out[i] = buf.readFloatLE(o);
        break;
      default:
        out[i] = buf.readDoubleLE(o);
    }
  }
  return out;
}

/** Splits a v2 request body (JSON, or JSON followed by binary tensors) into rows of instances. */
export function parseInferRequest(
  body: Buffer,
  headerLength: number | undefined,
  max: number,
): { req: InferRequest; instances: Instance[] } {
  const jsonEnd = headerLength ?? body.length;
  if (!Number.isInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length)
    throw bad('Inference-Header-Content-Length is not within the body', [{ pointer: '', detail: 'bad header length' }]);
  let req: InferRequest;
  try {
    req = JSON.parse(body.toString('utf8', 0, jsonEnd)) as InferRequest;
  } catch (e) {
    throw bad(`the request is not valid JSON: ${(e as Error).message}`, [{ pointer: '', detail: 'unparseable JSON' }]);
  }
  if (!req || typeof req !== 'object' || !Array.isArray(req.inputs) || req.inputs.length === 0)
    throw bad('inputs must be a non-empty list of tensors', [
      { pointer: '/inputs', detail: 'must be a non-empty array' },
    ]);
  let offset = jsonEnd;
  let rows: number | undefined;
  const columns: { name: string; values: unknown[] }[] = [];
  (req.inputs as TensorIn[]).forEach((t, i) => {
    const pointer = `/inputs/${i}`;
    if (!t || typeof t.name !== 'string')
      throw bad(`inputs[${i}] has no name`, [{ pointer: `${pointer}/name`, detail: 'is required' }]);
    const shape = t.shape;
    if (
      !Array.isArray(shape) ||
      shape.length === 0 ||
      shape.length > 2 ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      (shape.length === 2 && shape[1] !== 1)
    )
      throw bad(`input '${t.name}': shape must be [N] or [N, 1]`, [
        { pointer: `${pointer}/shape`, detail: `is ${JSON.stringify(shape)}` },
      ]);
    if (typeof t.datatype !== 'string' || (t.datatype !== 'BYTES' && !(t.datatype in WIDTH)))
      throw bad(`input '${t.name}': unknown datatype ${JSON.stringify(t.datatype)}`, [
        { pointer: `${pointer}/datatype`, detail: 'is not a v2 datatype' },
      ]);
    const n = shape[0] as number;
    let values: unknown[];
    const size = t.parameters?.binary_data_size;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0 || offset + (size as number) > body.length)
        throw bad(`input '${t.name}': binary_data_size ${String(size)} runs past the body`, [
          { pointer: `${pointer}/parameters/binary_data_size`, detail: 'too large' },
        ]);
      values = decodeBinary(
        { name: t.name, datatype: t.datatype, shape: [] },
        body.subarray(offset, offset + (size as number)),
        pointer,
      );
      offset += size as number;
    } else {
      if (!Array.isArray(t.data))
        throw bad(`input '${t.name}' has no data`, [
          { pointer: `${pointer}/data`, detail: 'is required (or binary_data_size)' },
        ]);
      values = (t.data as unknown[]).flat(2);
    }
    if (values.length !== n)
      throw bad(`input '${t.name}': shape ${JSON.stringify(shape)} needs ${n} values, got ${values.length}`, [
        { pointer: `${pointer}/data`, detail: `has ${values.length} values` },
      ]);
    if (rows !== undefined && n !== rows)
      throw bad(`input '${t.name}' has ${n} rows, other inputs ${rows}`, [
        { pointer: `${pointer}/shape`, detail: 'rows differ between inputs' },
      ]);
    rows = n;
    columns.push({ name: t.name, values });
  });
  if (!rows) throw bad('inputs have no rows', [{ pointer: '/inputs/0/shape', detail: 'must have at least one row' }]);
  if (rows > max)
    throw new ProblemError(
      problem(413, 'Request too large', `at most ${max} rows per request`, [
        { pointer: '/inputs/0/shape', detail: `has ${rows} rows` },
      ]),
    );
  const instances: Instance[] = Array.from({ length: rows }, () => ({}));
  for (const c of columns) for (let r = 0; r < rows; r++) instances[r][c.name] = c.values[r];
  return { req, instances };
}

function checkNames(m: LoadedModel, instances: Instance[]): void {
  const known = new Set([...inputsOf(m).map((t) => t.name), ...m.inputs.map((i) => i.name)]);
  const unknown = Object.keys(instances[0]).filter((k) => !known.has(k));
  if (unknown.length)
    throw bad(
      `unknown input ${unknown.map((u) => `'${u}'`).join(', ')}; this model takes ${[...known].join(', ')}`,
      unknown.map((u) => ({ pointer: '/inputs', detail: `'${u}' is not an input` })),
    );
  const featuresGiven = m.onlineInputNames.length > 0 && m.onlineInputNames.every((n) => n in instances[0]);
  if (!featuresGiven)
    for (const v of m.views.values())
      for (const k of v.joinKeys)
        if (!(k.name in instances[0]))
          throw bad(`input '${k.name}' is missing (a join key of ${v.name})`, [
            { pointer: '/inputs', detail: `'${k.name}' is required` },
          ]);
}

/** Encodes a response: outputs as JSON, or as binary tensors after the JSON where asked. */
function sendInfer(
  reply: FastifyReply,
  header: Record<string, unknown>,
  outputs: { meta: TensorMeta; values: unknown[]; binary: boolean }[],
): FastifyReply {
  const parts: Buffer[] = [];
  const json = outputs.map(({ meta, values, binary }) => {
    if (!binary) return { ...meta, data: values };
    let buf: Buffer;
    if (meta.datatype === 'BYTES') {
      buf = Buffer.concat(
        (values as string[]).flatMap((v) => {
          const s = Buffer.from(String(v), 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(s.length);
          return [len, s];
        }),
      );
    } else if (meta.datatype === 'INT64') {
      buf = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v as number), i * 8));
    } else buf = Buffer.from(Float32Array.from(values as number[]).buffer);
    parts.push(buf);
    return { ...meta, parameters: { binary_data_size: buf.length } };
  });
  const text = JSON.stringify({ ...header, outputs: json });
  if (!parts.length) return reply.type('application/json').send(text);
  const head = Buffer.from(text, 'utf8');
  return reply
    .header('inference-header-content-length', String(head.length))
    .type('application/octet-stream')
    .send(Buffer.concat([head, ...parts]));
}

export function installV2Routes(
  app: FastifyInstance,
  cache: ModelCache,
  predictor: Predictor,
  maxRows: number,
  hot: { logLevel: 'warn' },
): void {
  app.get('/v2', async () => ({ name: 'plinth-inference', version: VERSION, extensions: ['binary_tensor_data'] }));

  const modelOf = (s: ServedDeployment, version?: string): LoadedModel => {
    if (version === undefined) return s.primary;
    const m = [s.primary, s.canary?.model, s.shadow].find((x) => x && String(x.model.version) === version);
    if (!m)
      throw new ProblemError(
        problem(404, 'Unknown version', `deployment '${s.deployment.name}' does not serve version ${version}`),
      );
    return m;
  };
  const servedVersions = (s: ServedDeployment) =>
    [s.primary, s.canary?.model, s.shadow].filter((m): m is LoadedModel => !!m).map((m) => String(m.model.version));

  type P = { Params: { name: string; version?: string } };
  const metadata = async (req: { params: P['Params'] }) => {
    const s = await cache.require(req.params.name);
    const m = modelOf(s, req.params.version);
    return {
      name: s.deployment.name,
      versions: servedVersions(s),
      platform: 'onnxruntime_onnx',
      inputs: inputsOf(m),
      outputs: outputsOf(m),
    };
  };
  // Bodies are JSON optionally followed by binary tensors: parsed here, whatever the content type says.
  app.register(async (scope) => {
    // v2 clients read an error's message from `error` (tritonclient fails to decode it otherwise):
    // the problem document carries it too.
    scope.addHook('onSend', async (_req, reply, payload) => {
      if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
      try {
        const doc = JSON.parse(payload) as { detail?: string; title?: string };
        return JSON.stringify({ ...doc, error: doc.detail ?? doc.title });
      } catch {
        return payload;
      }
    });
    scope.get<P>('/v2/models/:name', metadata);
    scope.get<P>('/v2/models/:name/versions/:version', metadata);

    const ready = async (req: { params: P['Params'] }, reply: FastifyReply) => {
      const s = cache.get(req.params.name);
      const ok = !!s && (req.params.version === undefined || servedVersions(s).includes(req.params.version));
      return reply.code(ok ? 200 : 404).send({ name: req.params.name, ready: ok });
    };
    scope.get<P>('/v2/models/:name/ready', ready);
    scope.get<P>('/v2/models/:name/versions/:version/ready', ready);

    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const infer = async (
      req: { params: P['Params']; body: unknown; headers: Record<string, unknown> },
      reply: FastifyReply,
    ) => {
      const s = await cache.require(req.params.name);
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const h = req.headers['inference-header-content-length'];
      const { req: r, instances } = parseInferRequest(body, h === undefined ? undefined : Number(h), maxRows);
      const target = modelOf(s, req.params.version);
      checkNames(target, instances);
      const p = await predictor.predict(s, instances, {
        protocol: 'v2',
        ...(req.params.version ? { version: target.model.version } : {}),
      });
      const metas = outputsOf(p.model);
      const wanted: NonNullable<InferRequest['outputs']> =
        Array.isArray(r.outputs) && r.outputs.length ? r.outputs : metas.map((m) => ({ name: m.name }));
      const allBinary = r.parameters?.binary_data_output === true;
      const outputs = wanted.map((o, i) => {
        const meta = metas.find((m) => m.name === o.name);
        if (!meta)
          throw bad(`unknown output ${JSON.stringify(o.name)}; this model has ${metas.map((m) => m.name).join(', ')}`, [
            { pointer: `/outputs/${i}/name`, detail: 'is not an output' },
          ]);
        const rows = p.slice.outputs.map((row) => row[meta.name]);
        const width = Array.isArray(rows[0]) ? rows[0].length : 0;
        const values = width ? rows.flatMap((v) => v as unknown[]) : rows;
        return {
          meta: { ...meta, shape: width ? [rows.length, width] : [rows.length] },
          values: values.map((v) => (typeof v === 'number' && Number.isNaN(v) ? null : v)),
          binary: o.parameters?.binary_data === true || (o.parameters?.binary_data === undefined && allBinary),
        };
      });
      return sendInfer(
        reply,
        {
          model_name: s.deployment.name,
          model_version: String(p.model.model.version),
          ...(typeof r.id === 'string' ? { id: r.id } : {}),
          parameters: { variant: p.variant, prediction_ids: p.ids.join(',') },
        },
        outputs,
      );
    };
    scope.post<P>('/v2/models/:name/infer', hot, infer);
    scope.post<P>('/v2/models/:name/versions/:version/infer', hot, infer);
  });
}
