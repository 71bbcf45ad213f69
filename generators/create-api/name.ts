/** The generator's name: its templates folder, its manifest records, its run cache entry. */
export const GENERATOR = 'create-api';
