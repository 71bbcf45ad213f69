/** What an edit appends to a spec document, by place; written into the text by `writeSpecEdit`. */
import type { Obj } from '../../json.js';

/** What to append to a spec: new paths, schemas, responses, a tag, security schemes, and entries deeper in. */
export interface SpecChanges {
  /** Entries to append to `paths`. */
  paths: [string, Obj][];
  /** Entries to append to `components.schemas`. */
  schemas: [string, Obj][];
  /** Entries to append to `components.responses`. */
  responses?: [string, Obj][];
  /** Item to append to the top-level `tags` list. */
  tag: Obj | undefined;
  /** Entries to append to `components.securitySchemes` (add-auth). */
  securitySchemes?: [string, Obj][];
  /** Entries to append to existing mappings deeper in the document (new fields of an existing resource). */
  inserts?: { path: string[]; entries: [string, unknown][] }[];
  /** Items to append to existing sequences (the `required` lists of an existing resource's schemas). */
  appends?: { path: string[]; items: unknown[] }[];
}
