/**
 * The bundled repository.ts template is written without prettier (generators/design-database/repository-layout.ts):
 * for model names from short to far past the print width, the file is what prettier makes of it.
 */
import { describe, expect, it } from 'vitest';
import { formatTypeScript } from '../../generators/core/render/format.js';
import { loadTemplates } from '../../generators/core/render/templates.js';
import { layoutRepository } from '../../generators/design-database/repository-layout.js';
import { buildDatabaseView } from '../../generators/design-database/view-model.js';
import { design, obj } from '../db/designs.js';

const words = ['Account', 'Bacs', 'Debit', 'Payments', 'Settings', 'Issuing', 'Cardholder', 'Authorization', 'Controls', 'Resource', 'Transfer'];
/** Names of 3 to 200 characters: every width at which a line of the template starts to overflow is crossed. */
const names = [...new Set(Array.from({ length: 40 }, (_, i) => {
  let name = 'Tag';
  for (let w = 0; name.length < 3 + i * 5; w++) name += words[w % words.length]!;
  return name;
}))];

describe('layoutRepository', () => {
  it('gives what prettier gives for the bundled repository template', async () => {
    const schema = design(Object.fromEntries(names.map((n) => [n, obj({ id: { type: 'string', format: 'uuid' }, label: { type: 'string' } })]))).schema;
    const view = buildDatabaseView(schema, () => undefined);
    expect(view.models.length).toBe(names.length);
    const templates = loadTemplates('design-database');
    let broken = 0;
    for (const model of view.models) {
      const text = templates.render('repository.ts.hbs', { ...view, model });
      const laid = layoutRepository(text);
      if (laid !== text) broken++;
      expect(laid, model.model).toBe(await formatTypeScript(text, `${model.fileStem}.ts`));
    }
    // Both kinds of file were compared: ones that fit and ones with lines to break.
    expect(broken).toBeGreaterThan(5);
    expect(broken).toBeLessThan(view.models.length);
  });
});
