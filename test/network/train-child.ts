// Child process for the kill/resume test: trains with checkpoints and SIGKILLs itself in the middle of an epoch.
import { trainNetwork } from '../../src/network/trainer';
import { teacherData } from './synthetic';
import { trainOptions } from './train-options';

const [checkpoint, killEpoch, killBatch] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
trainNetwork(teacherData(1, 600), teacherData(2, 200), { ...trainOptions(), checkpoint, resume: true }, undefined, {
  onBatch: (epoch, batch) => {
    if (epoch === killEpoch && batch === killBatch) process.kill(process.pid, 'SIGKILL');
  },
}).then(() => process.exit(3)); // reaching the end means the kill did not happen
