import path from 'node:path';

/** The vega-datasets data directory (its `exports` map hides `data/`, so go through the entry). */
export const VEGA_DATA_DIR = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');

export const vegaFile = (name: string): string => path.join(VEGA_DATA_DIR, name);
