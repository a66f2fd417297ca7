// The data directory holds the SQLite database, the master key, the usage journal and the demo
// credentials: only the server's own user may read any of it. Directories are created 0700 and
// files 0600 (SQLite gives its -wal and -shm files the mode of the database file, so that one is
// created before SQLite opens it); existing ones that we own and that grant more are tightened.
import fs from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700, or tightens it when it exists. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` empty with mode 0600 unless it exists, or tightens it when it does. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  tighten(file, PRIVATE_FILE_MODE);
}

/**
 * Removes the permission bits beyond `mode` from a path we own. Best effort: a path of another
 * user, or on a read-only mount (a mounted secret), is left as it is rather than failing start-up.
 */
export function tighten(p: string, mode: number): void {
  try {
    const st = fs.statSync(p);
    if ((st.mode & 0o777 & ~mode) === 0) return;
    if (process.getuid !== undefined && st.uid !== process.getuid()) return;
    fs.chmodSync(p, st.mode & 0o777 & mode);
  } catch {
    /* missing, not ours, read-only: nothing to tighten */
  }
}
