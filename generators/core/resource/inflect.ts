/**
 * The one English inflection of backdev: every path, operationId, type, table and repository name that
 * needs a singular or a plural gets it from here, so that `staff` is `/staff` and table `staff`, and
 * `leaf` is `/leaves` and table `leaves`.
 *
 * Built on the `pluralize` package, with a small table of our own consulted first for the words it gets
 * wrong or that read better another way in an API (`index` → `indexes`, not `indices`; `schema` →
 * `schemas`; `cache`, `cookie`, `virus`, `lens`, … and acronyms such as `sms`). The package's rule tables
 * are never changed from here (no `addXRule`), so the result depends on the word only, whoever else loads
 * the package in the same process.
 *
 * Names made of several words (`blog-post`, `BlogPost`, `user_profile`, `APIKey`) inflect their last word
 * only and keep its case and separators. A last word that is not at least two letters (`item2`, `v2`,
 * `a`) is left as it is. Plural input stays plural, singular input stays singular.
 */
import pluralizeLib from 'pluralize';

/** Words that are the same in the singular and the plural. */
const UNCHANGED = new Set([
  // Uncountable nouns common in APIs (the package knows most of them; listed so that none is lost).
  'staff',
  'media',
  'news',
  'equipment',
  'series',
  'species',
  'data',
  'metadata',
  'information',
  'software',
  'hardware',
  'firmware',
  'feedback',
  'analytics',
  'sheep',
  'fish',
  'deer',
  'chaos',
  'ethos',
  'cosmos',
  // Acronyms the package would take for plurals (`sms` → `sm`).
  'sms',
  'gps',
  'dns',
  'os',
  'https',
  'cors',
  // Pronouns and verbs the package inflects (`me` → `us`, `is` → `are`): never what a name means.
  'i',
  'we',
  'me',
  'us',
  'he',
  'she',
  'they',
  'them',
  'is',
  'are',
  'was',
  'were',
  'has',
  'have',
  'this',
  'these',
  'that',
  'those',
]);

/** singular → plural, where the package is wrong or where we pick the other accepted plural. */
const IRREGULAR: Record<string, string> = {
  // `indexes`, the usual plural in software (database indexes, search indexes), rather than `indices`.
  index: 'indexes',
  schema: 'schemas',
  virus: 'viruses',
  axis: 'axes',
  basis: 'bases',
  oasis: 'oases',
  canvas: 'canvases',
  lens: 'lenses',
  bias: 'biases',
  cache: 'caches',
  niche: 'niches',
  headache: 'headaches',
  cookie: 'cookies',
  calorie: 'calories',
  selfie: 'selfies',
  rookie: 'rookies',
  veto: 'vetoes',
  guru: 'gurus',
  haiku: 'haikus',
  tofu: 'tofus',
};
/** Plurals above not read back to that singular: `bases` is `base`, `axes` is `axe` (the package's answers). */
const ONE_WAY = new Set(['axis', 'basis']);
const IRREGULAR_PLURAL: Record<string, string> = Object.fromEntries(
  Object.entries(IRREGULAR)
    .filter(([one]) => !ONE_WAY.has(one))
    .map(([one, many]) => [many, one]),
);
/** Other plurals whose singular has an entry above: `indices` is still read as `index`. */
const ALSO_PLURAL: Record<string, string> = { indices: 'index', viri: 'virus', octopi: 'octopus' };

const has = (table: Record<string, string>, word: string): boolean => Object.hasOwn(table, word);

/** Words we inflect: two or more ASCII letters. */
const isWord = (word: string): boolean => /^[a-z]{2,}$/.test(word);

/** Plural of one lower-case word: `post` → `posts`, `leaf` → `leaves`, `staff` → `staff`, `posts` → `posts`. */
export function pluralWord(word: string): string {
  if (!isWord(word) || UNCHANGED.has(word) || has(IRREGULAR_PLURAL, word)) return word;
  if (has(IRREGULAR, word)) return IRREGULAR[word]!;
  if (has(ALSO_PLURAL, word)) return pluralWord(ALSO_PLURAL[word]!);
  return pluralizeLib.plural(word);
}

/** Singular of one lower-case word: `posts` → `post`, `people` → `person`, `news` → `news`, `post` → `post`. */
export function singularWord(word: string): string {
  if (!isWord(word) || UNCHANGED.has(word) || has(IRREGULAR, word)) return word;
  if (has(IRREGULAR_PLURAL, word)) return IRREGULAR_PLURAL[word]!;
  if (has(ALSO_PLURAL, word)) return ALSO_PLURAL[word]!;
  return pluralizeLib.singular(word);
}

/** Splits off the last word: `blog-post` → [`blog-`, `post`], `BlogPost` → [`Blog`, `Post`], `APIKEY` → [``, `APIKEY`]. */
function splitLast(name: string): [head: string, last: string] {
  const match = /(?:[A-Z]?[a-z]+|[A-Z]+)$/.exec(name);
  if (!match) return [name, ''];
  return [name.slice(0, match.index), match[0]];
}

function inflectLast(name: string, inflect: (word: string) => string): string {
  const [head, last] = splitLast(name);
  if (last === '') return name;
  const out = inflect(last.toLowerCase());
  if (last.length > 1 && last === last.toUpperCase()) return head + out.toUpperCase();
  if (last[0] !== last[0]!.toLowerCase()) return head + out.charAt(0).toUpperCase() + out.slice(1);
  return head + out;
}

/** Plural of a name, inflecting its last word: `blog-post` → `blog-posts`, `BlogPost` → `BlogPosts`, `user_profile` → `user_profiles`. */
export function pluralize(name: string): string {
  return inflectLast(name, pluralWord);
}

/** Singular of a name, inflecting its last word: `blog-posts` → `blog-post`, `OrderItems` → `OrderItem`, `people` → `person`. */
export function singularize(name: string): string {
  return inflectLast(name, singularWord);
}
