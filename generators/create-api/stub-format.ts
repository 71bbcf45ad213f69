/**
 * Formatting handler files without running prettier over each of them (on GitHub's spec, 47 files with
 * 1,223 stubs: about 2 s of prettier). Prettier lays out each top-level statement on its own, so a file is
 * the formatted text before its first stub followed by each stub formatted alone; and a plain stub (the
 * "not implemented" answer) is laid out by the length of its operation id only: it is formatted once per
 * length, with a stand-in id, and its comment line (printed as written) put back in front. Any other text
 * (CRUD or account stubs, a user's own templates) goes through prettier as a whole, as before.
 */
import { formatTypeScript } from '../core/render/format.js';

/** A plain stub as the bundled partial renders it: a one-line doc comment, then the export. */
const PLAIN_STUB =
  /^(\/\*\*(?:(?!\*\/)[^\n\r\u2028\u2029])*\*\/)\n(export const ([A-Za-z_$][\w$]*): Handlers\['\3'\] = async \(_ctx\) => \{\n {2}return notImplemented\('\3'\);\n\};\n)$/;

/** The export of a plain stub, as the partial renders it. */
const plainExport = (id: string) => `export const ${id}: Handlers['${id}'] = async (_ctx) => {\n  return notImplemented('${id}');\n};\n`;

export class StubFormatter {
  /** The formatted export of a plain stub by the length of its id, with `Q`s standing for the id. */
  private readonly byLength = new Map<number, Promise<string>>();

  /** `text` (one rendered stub) as prettier formats it. */
  async stub(text: string, file: string): Promise<string> {
    const m = PLAIN_STUB.exec(text);
    if (!m) return formatTypeScript(text, file);
    const [, comment, , id] = m as unknown as [string, string, string, string];
    // The statement's fixed text has no `Q`, so the stand-in is found again exactly.
    const standIn = 'Q'.repeat(id.length);
    let layout = this.byLength.get(id.length);
    if (!layout) this.byLength.set(id.length, (layout = formatTypeScript(plainExport(standIn), file)));
    return `${comment}\n${(await layout).split(standIn).join(id)}`;
  }

  /**
   * A whole file: `whole` as rendered, `head` the same template rendered without stubs and `stubs` each
   * stub rendered alone. Formatted part by part when `whole` is exactly `head` then each stub after a
   * blank line (as the bundled template lays them out), else by prettier over all of it.
   */
  async file(whole: string, head: string, stubs: string[], file: string): Promise<string> {
    const parted = stubs.length > 0 && head.endsWith('\n') && stubs.every((s) => PLAIN_STUB.test(s)) && whole === head + stubs.map((s) => `\n${s}`).join('');
    if (!parted) return formatTypeScript(whole, file);
    const formattedHead = await formatTypeScript(head, file);
    // The head must end with a statement: a trailing comment would belong to the first stub.
    if (!formattedHead.endsWith(';\n')) return formatTypeScript(whole, file);
    const parts = await Promise.all(stubs.map((s) => this.stub(s, file)));
    return formattedHead + parts.map((p) => `\n${p}`).join('');
  }
}
