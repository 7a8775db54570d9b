import fs from 'node:fs';
import YAML from 'yaml';
import { DEFINITION_SECTION_NAMES as SECTIONS, type DefinitionSet } from '@plinth/schema';

export type Definitions = DefinitionSet;

/** Reads a YAML or JSON file of definitions; unknown sections are an error naming the file. */
export function readDefinitions(file: string): Definitions {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${file}: expected a mapping with ${SECTIONS.join(', ')}`);
  for (const [k, v] of Object.entries(doc)) {
    if (!(SECTIONS as readonly string[]).includes(k))
      throw new Error(`${file}: unknown section '${k}' (expected ${SECTIONS.join(', ')})`);
    if (!Array.isArray(v)) throw new Error(`${file}: section '${k}' must be a list`);
  }
  return doc as Definitions;
}

/** One set of definitions from several files, in file order. */
export function mergeDefinitions(all: Definitions[]): Definitions {
  const out: Required<Definitions> = {
    entities: [],
    dataSources: [],
    featureViews: [],
    labelViews: [],
    featureServices: [],
  };
  for (const d of all) for (const k of SECTIONS) out[k].push(...((d[k] ?? []) as never[]));
  return out;
}
