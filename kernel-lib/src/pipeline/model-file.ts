/**
 * Plinth's model file: a fitted model and its preprocessing stages as one readable JSON
 * document (schema/schemas/model-file.json), beside the ONNX graph compiled from them. It is
 * for inspection (every tree, coefficient and bin threshold is there) and for reloading a model
 * into the notebook to predict, evaluate or compile again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validate, type ModelFile } from '@plinth/schema';
import { validatePipelineSpec } from '../onnx/compile';
import type { TrainResult } from './train';

/** The model file of a {@link train} result (or of hand-fitted stages and a model). */
export function modelFileOf(
  result: Pick<TrainResult, 'featureNames' | 'stages' | 'model'> &
    Partial<Pick<TrainResult, 'label' | 'metrics' | 'vocabularies'>>,
  metadata?: Record<string, string>,
): ModelFile {
  const metrics: Record<string, number> = {};
  for (const [split, m] of Object.entries(result.metrics ?? {}))
    for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'number') metrics[`${split}.${k}`] = v;
  const file: ModelFile = {
    format: 'plinth.model',
    formatVersion: 1,
    featureNames: [...result.featureNames],
    stages: result.stages,
    model: result.model,
    createdAt: new Date().toISOString(),
    ...(result.label ? { label: result.label } : {}),
    ...(result.vocabularies && Object.keys(result.vocabularies).length ? { vocabularies: result.vocabularies } : {}),
    ...(Object.keys(metrics).length ? { metrics } : {}),
    ...(metadata ? { metadata } : {}),
  };
  checkModelFile(file, '(new model file)');
  return file;
}

/** Schema, then structure (names and parameter shapes, as the ONNX compiler checks them). */
function checkModelFile(doc: unknown, where: string): ModelFile {
  const r = validate('model-file', doc);
  if (!r.ok)
    throw new Error(
      `${where} is not a valid Plinth model file: ${r.errors
        .slice(0, 5)
        .map((e) => `${e.pointer || '/'} ${e.detail}`)
        .join('; ')}`,
    );
  try {
    validatePipelineSpec({
      inputs: r.value.featureNames.map((name) => ({ name })),
      stages: r.value.stages,
      model: r.value.model,
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  return r.value;
}

/**
 * Writes a model file (pretty JSON) atomically: a temporary file, then a rename, so a reader
 * never sees half a model.
 *
 * @example
 * ```ts
 * const result = plinth.train({ data, model: 'gbt' });
 * plinth.saveModelFile('models/ctr.plinth.json', result);
 * ```
 */
export function saveModelFile(
  file: string,
  model: ModelFile | Parameters<typeof modelFileOf>[0],
  metadata?: Record<string, string>,
): ModelFile {
  const doc = 'format' in model ? checkModelFile(model, file) : modelFileOf(model, metadata);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 1)}\n`);
  fs.renameSync(tmp, file);
  return doc;
}

/**
 * Reads a model file back, checking it against the schema and the model's structure; errors
 * name the file and the field.
 *
 * @example
 * ```ts
 * const m = plinth.loadModelFile('models/ctr.plinth.json');
 * plinth.predict(m.model, plinth.applyStages(m.stages, columns)).probability;
 * const onnx = plinth.compilePipeline({ inputs: m.featureNames.map((name) => ({ name })), stages: m.stages, model: m.model });
 * ```
 */
export function loadModelFile(file: string): ModelFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read model file ${file}: ${(e as Error).message}`);
  }
  return parseModelFile(text, `model file ${file}`);
}

/**
 * Reads a model file from its text (e.g. a run's `model/model.plinth.json` artifact), checked
 * like {@link loadModelFile}; errors start with `where`.
 *
 * @example
 * const file = parseModelFile(new TextDecoder().decode(bytes), `run ${run.id}`);
 */
export function parseModelFile(text: string, where: string): ModelFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not JSON: ${(e as Error).message}`);
  }
  return checkModelFile(doc, where);
}
