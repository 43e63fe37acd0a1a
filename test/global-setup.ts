// vitest globalSetup: makes sure the Python-generated fixture models and TF oracle outputs exist
// (creating the Python venv on a fresh machine, which takes a few minutes once) and tells every
// test worker where they are through JETSERVE_FIXTURES.

import { ensureFixtures } from './fixtures/ensure-fixtures.mjs';

export default async function setup(): Promise<void> {
  process.env.JETSERVE_FIXTURES = await ensureFixtures();
}
