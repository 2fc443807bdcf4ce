import { stopTestServers } from './servers';
import { removeTempDirs } from './tmp';

/** Mocha root hooks (loaded through .mocharc.json `require`): shared servers go down once, after every file. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await stopTestServers();
    await removeTempDirs();
  },
};
