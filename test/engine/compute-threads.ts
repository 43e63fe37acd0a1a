// Shared by compute-priority.test.ts and its child: the threads of this process as the kernel
// lists them, with each one's scheduling policy and nice value (/proc/self/task/<tid>/stat).
import { readdirSync, readFileSync } from 'node:fs';

export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

export interface ThreadInfo {
  tid: number;
  name: string;
  policy: number;
  nice: number;
}

/** The threads alive now; one that exits between the listing and its read is left out. */
export function threads(): ThreadInfo[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    let stat: string;
    let name: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch (e) {
      // a short-lived thread (a worker pool's, TF's) ended after readdir: it is not alive now
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return [];
      throw e;
    }
    // Fields after "(comm)": the 3rd field of stat is the first here; nice is field 19, policy 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [{ tid: Number(tid), name, nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) }];
  });
}
