/** The one string order of the database design (by UTF-16 code unit, as `<` compares), so output is stable. */

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
export const byName = (a: { name: string }, b: { name: string }): number => compareStrings(a.name, b.name);
