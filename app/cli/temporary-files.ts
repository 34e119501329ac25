import { rmSync } from 'node:fs';

// Outputs are written to a temporary file beside their place and renamed over it when whole
// (OutputFile, StateFileWriter). A run stopped by a signal (Ctrl-C, kill, a terminal closed) must
// neither leave those behind (a 93 MB state.<pid>.tmp per killed run) nor, before this, leave a cut
// NDJSON or CSV that ends on a whole line and looks complete, in place of the last good one.

/** The temporary file beside `target` that this process writes before renaming it into place. */
export function temporaryNameFor(target: string): string {
  return `${target}.${process.pid}.tmp`;
}

const pending = new Set<string>();
let installed = false;

/** Exit statuses of a process ended by a signal, as a shell reports them (128 + its number). */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export function trackTemporary(path: string): void {
  pending.add(path);
  installSignalCleanup();
}

export function untrackTemporary(path: string): void {
  pending.delete(path);
}

/** Removes every temporary file still pending (never throws: it runs on the way out). */
export function removeTemporaries(): void {
  for (const path of pending) {
    try {
      rmSync(path, { force: true });
    } catch {
      // Cannot be removed: nothing more to do on the way out.
    }
  }
  pending.clear();
}

function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of Object.entries(SIGNAL_EXIT) as [NodeJS.Signals, number][]) {
    process.on(signal, () => {
      removeTemporaries();
      process.exit(code);
    });
  }
}
