/**
 * Handlers for the default operations.
 *
 * This file is yours: backdev created it and never rewrites it. When the spec gains an operation tagged
 * default, `backdev create-api` appends a stub for it at the end and leaves the rest alone.
 * A stub answers 501 Not Implemented until you replace its body.
 */
import { notImplemented, type Handlers } from '../generated/handlers.gen.js';

/** GET /health */
export const getHealth: Handlers['getHealth'] = async (_ctx) => {
  return notImplemented('getHealth');
};
