/**
 * The generators whose bundled templates `backdev templates eject` copies. Its own module, so that the
 * command line can offer them as choices without loading the template engine.
 */
export const GENERATORS_WITH_TEMPLATES = ['add-auth', 'add-health', 'add-realtime', 'add-sync', 'create-api', 'design-database', 'init'];
