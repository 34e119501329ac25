import type { CaptureSummary, ConnectionRecord } from '../report/types.js';

// Where a capture file's clock stepped back far (CaptureIngest.clockSteppedBack), the parts on
// either side are clock segments: the diagnosis follows no session and no client from one into another.
// Two captures appended into one file (mergecap -a) and a capturing host's clock set back look the
// same in the file, and what each needs is the opposite: merged by time, or taken in file order.
// Either guess, when wrong, builds verdicts on reversed time (a clock set back an hour: first
// visits "forgot" sessions they were about to get, idle refusals "issued before the capture"), so
// neither is made: across a step, a session is unknown, as if issued before the capture.
// A short step only swaps connections within its length of it, and losing every session across it
// costs more. The simulated idle-timeout farm (5-minute timeout) with its clock set back at frame
// 4000, sessions followed across the step: by 2 minutes, the 2 refusals left unexplained without
// any step; by 3 minutes, 1 refusal "client forgot" and 5 unexplained; by 5 minutes, 4 and 11; by
// 20 minutes, 14 and 5; by an hour, 7 first visits "client forgot" and 13 idle refusals unknown.
// Not followed across: 24–25 refusals unknown ("issued before the capture"), no verdict against anyone.

/** A step back of at least this many seconds makes a clock segment; shorter ones are only reported. */
export const CLOCK_SEGMENT_STEP = 120;

/** A step back of a file's clock: the part of the file from `frame` on is a clock segment of its own. */
export interface ClockStep {
  file: string;
  frame: number;
}

/** The anomaly code of a step back of a file's clock (analysis.ts reports it, the diagnosis keys on it). */
export const CLOCK_STEP_BACK_CODE = 'clock-step-back';

/** The clock steps the captures' anomalies list, for DiagnoseOptions.clockSteps. */
export function clockStepsOf(captures: readonly CaptureSummary[]): ClockStep[] {
  const steps: ClockStep[] = [];
  for (const capture of captures) {
    for (const a of capture.anomalies) {
      if (a.code === CLOCK_STEP_BACK_CODE && a.frame !== undefined && (a.seconds ?? 0) >= CLOCK_SEGMENT_STEP) steps.push({ file: a.file ?? capture.file, frame: a.frame });
    }
  }
  return steps;
}

/**
 * Each connection's clock segment by position (0: before any step of its file; a step's number
 * from 1 after it, by the connection's first packet), or null when no file's clock stepped back.
 */
export function clockSegmentsOf(connections: readonly ConnectionRecord[], steps: readonly ClockStep[] | undefined): Int32Array | null {
  if (steps === undefined || steps.length === 0) return null;
  const byFile = new Map<string, { frame: number; segment: number }[]>();
  steps.forEach((step, i) => {
    let list = byFile.get(step.file);
    if (list === undefined) byFile.set(step.file, (list = []));
    list.push({ frame: step.frame, segment: i + 1 });
  });
  for (const list of byFile.values()) list.sort((a, b) => a.frame - b.frame);
  const segments = new Int32Array(connections.length);
  for (let i = 0; i < connections.length; i++) {
    const c = connections[i]!;
    const list = byFile.get(c.file);
    if (list === undefined) continue;
    let segment = 0;
    for (const step of list) {
      if (step.frame > c.firstFrame) break;
      segment = step.segment;
    }
    segments[i] = segment;
  }
  return segments;
}
