// Regenerates README's Performance table and bench/RESULTS.md from bench/results.json.
//   npm run bench:tables
import { writeTables } from './lib/render.js';
import { readStore } from './lib/store.js';

writeTables(readStore());
process.stderr.write('[bench] README.md and bench/RESULTS.md regenerated from bench/results.json\n');
