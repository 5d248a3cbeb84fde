/**
 * Linux's autogroup scheduler (/proc/sys/kernel/sched_autogroup_enabled = 1) shares the CPU between
 * sessions first and applies nice only within a session: a child started in a session of its own
 * (runQe's detached pw.x) runs at its session's nice, 0, however niced the caller's session was.
 * So a run that was asked to yield (`echo 19 > /proc/<pid>/autogroup`, mk/al-broad.mk) passes its
 * session's nice on to the child's. Best effort: without /proc or the right, nothing happens.
 */
import * as fs from 'node:fs';

/** The nice value of an autogroup file's line ("/autogroup-123 nice 19"), or undefined. */
export function autogroupNice(text: string): number | undefined {
  const m = /\bnice\s+(-?\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Give process `pid`'s autogroup the nice of ours when ours is not 0; returns the value set, if any. */
export function passAutogroupNice(pid: number | undefined, files = { self: '/proc/self/autogroup', child: (p: number) => `/proc/${p}/autogroup` }): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const nice = autogroupNice(fs.readFileSync(files.self, 'utf8'));
    if (!nice) return undefined;
    fs.writeFileSync(files.child(pid), String(nice));
    return nice;
  } catch {
    return undefined; // no autogroup here, or the child is gone: nothing to pass on
  }
}
