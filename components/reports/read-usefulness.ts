import { access } from 'node:fs/promises';
import path from 'node:path';
import { readJsonPayload } from '../data/json-payload';
import { USEFULNESS_FILE_NAME, UsefulnessSchema, type Usefulness } from '../statistics-gen/usefulness/payload';

/**
 * The usefulness.json of an ExampleStatistics artifact, for a report of a component downstream of it;
 * undefined when StatisticsGen had no label to compute it for. One that is there but unreadable is an
 * error, as its statistics.json would be.
 */
export async function usefulnessOf(statisticsDir: string, reader: string): Promise<Usefulness | undefined> {
  const file = path.join(statisticsDir, USEFULNESS_FILE_NAME);
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  return exists ? readJsonPayload(file, UsefulnessSchema, `${reader} usefulness`) : undefined;
}
