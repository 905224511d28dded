import { defineModule } from '../../kernel/index.js';
import { boundaryOperations } from './boundaries.js';
import { FORMATS_AREA, idFormatOperations } from './id-formats.js';
import { localeBundleRoute } from './locale-bundle-route.js';
import { localizationOperations } from './localization.js';
import { bulkOperations } from './masterdata-bulk.js';
import { recordOperations } from './masterdata-records.js';
import { schemaOperations } from './masterdata-schemas.js';
import { referenceMigrations } from './migrations.js';
import { masterdataArea, MESSAGES_AREA, referenceState, type ReferenceOptions } from './reference-state.js';
import { seedReferenceDemo } from './seed.js';

export type { ReferenceOptions } from './reference-state.js';

/**
 * The module with its own in-memory state (cache, clock). Each call makes a new instance, so two
 * runtimes in one test process do not share a cache.
 */
export function referenceModuleWith(options: ReferenceOptions = {}) {
  const state = referenceState(options);
  return defineModule({
    name: 'reference',
    summary: 'Master data, localization, boundaries and ID formats',
    migrations: referenceMigrations,
    events: {
      publishes: ['reference.masterdata.changed', 'reference.messages.changed', 'reference.boundary.changed', 'reference.idFormat.changed'],
      listeners: {
        // Every process drops what a change made stale, whichever process made the change.
        dropStaleLookups: {
          events: ['reference.masterdata.changed', 'reference.messages.changed', 'reference.idFormat.changed'],
          handler(event) {
            if (event.name === 'reference.messages.changed') state.cache.drop(MESSAGES_AREA);
            else if (event.name === 'reference.idFormat.changed') state.cache.drop(FORMATS_AREA);
            else state.cache.drop(masterdataArea(String(event.payload.schema)));
          },
        },
      },
    },
    operations: {
      ...schemaOperations(state),
      ...recordOperations(state),
      ...bulkOperations(state),
      ...localizationOperations(state),
      ...boundaryOperations,
      ...idFormatOperations(state),
    },
    routes: localeBundleRoute(state),
    seedDemo: (ctx) => seedReferenceDemo(ctx),
  });
}

/** Master data, localization, boundaries and ID formats (see README.md). */
export const referenceModule = referenceModuleWith();
