// Child process for the "killed during save" test: saves a large model over and over until killed.
import { saveModelData } from '../../src/network/model';
import { makeModelData } from './synthetic';

const file = process.argv[2];
const m = makeModelData(Number(process.argv[3] ?? 1), [91, 700, 700, 700, 250]);
process.stdout.write('ready\n');
for (;;) saveModelData(file, m);
