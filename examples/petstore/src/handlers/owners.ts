/**
 * Handlers for the owners operations.
 *
 * This file is yours: backdev created it and never rewrites it. When the spec gains an operation tagged
 * owners, `backdev create-api` appends a stub for it at the end and leaves the rest alone.
 * A stub answers 501 Not Implemented until you replace its body.
 */
import { notImplemented, type Handlers } from '../generated/handlers.gen.js';

/** GET /owners/{ownerId}/pets */
export const listOwnerPets: Handlers['listOwnerPets'] = async (_ctx) => {
  return notImplemented('listOwnerPets');
};
