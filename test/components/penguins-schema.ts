import type { SchemaPayload } from '../../components/schema-gen/payload';

export const BEAK = 'Beak Length (mm)';
export const DEPTH = 'Beak Depth (mm)';
export const FLIPPER = 'Flipper Length (mm)';
export const MASS = 'Body Mass (g)';

/** penguins.json's schema as SchemaGen infers it with `label: 'Species'` (the label is out of SERVING). */
export const PENGUINS_SCHEMA: SchemaPayload = {
  version: 1,
  defaultEnvironments: ['TRAINING', 'SERVING'],
  features: [
    { name: 'Species', type: 'STRING', notInEnvironment: ['SERVING'] },
    { name: 'Island', type: 'STRING' },
    { name: BEAK, type: 'FLOAT' },
    { name: DEPTH, type: 'FLOAT' },
    { name: FLIPPER, type: 'INT' },
    { name: MASS, type: 'INT' },
    { name: 'Sex', type: 'STRING' },
  ],
};
