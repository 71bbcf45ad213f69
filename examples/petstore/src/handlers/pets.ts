/**
 * Handlers for the pets operations: Everything about pets.
 *
 * This file is yours: backdev created it and never rewrites it. When the spec gains an operation tagged
 * pets, `backdev create-api` appends a stub for it at the end and leaves the rest alone.
 * A stub answers 501 Not Implemented until you replace its body.
 */
import { notImplemented, type Handlers } from '../generated/handlers.gen.js';

/** List all pets — GET /pets */
export const listPets: Handlers['listPets'] = async (_ctx) => {
  return notImplemented('listPets');
};

/** Create a pet — POST /pets */
export const createPet: Handlers['createPet'] = async (_ctx) => {
  return notImplemented('createPet');
};

/** Info for a specific pet — GET /pets/{petId} */
export const showPetById: Handlers['showPetById'] = async (_ctx) => {
  return notImplemented('showPetById');
};

/** DELETE /pets/{petId} */
export const deletePet: Handlers['deletePet'] = async (_ctx) => {
  return notImplemented('deletePet');
};
