// CPU time of this process's threads by name, for the A/B scripts: read it while the threads are idle (a running
// thread's schedstat lags by up to a scheduler tick).
import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms of the threads whose name matches re (schedstat: ns of run time). */
export function cpuOf(re) {
  let ms = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (!re.test(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())) continue;
      ms += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      // the thread ended meanwhile
    }
  }
  return ms;
}
