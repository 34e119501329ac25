// Messages between the UI thread and the analysis worker. The worker owns every connection
// record; the UI holds the aggregated model and asks for table pages, one record or a client.
import type { ClockOffset } from '../../../../parser/clock-offset.js';
import type { AnalysedFile, ClientStep, ReportModel } from '../../../../parser/report/report-model.js';
import type { AnalysisDocument, ConnectionRecord } from '../../../../parser/report/types.js';
import type { ConnectionFilter, ConnectionRow, ConnectionSort } from '../data/connection-query.js';

/** A capture to read: a File from the picker or drop, or a URL served by the ui server / Electron. */
export type CaptureSource =
  | { kind: 'file'; file: File }
  | { kind: 'url'; url: string; name: string; size: number; firstPacketTime: number | null; readGroup: number; clockOffset?: ClockOffset };

export type WorkerRequest =
  /**
   * state: a --state file's sessions from an earlier analysis of the same series (see
   * parser/session/session-state.ts), carried into this one; null: none.
   */
  | { type: 'analyze'; sources: CaptureSource[]; state: File | null; analysedAt: string }
  | { type: 'cancel' }
  | { type: 'call'; callId: number; call: WorkerCall };

export type WorkerCall =
  | { op: 'query'; filter: ConnectionFilter; sort: ConnectionSort }
  | { op: 'rows'; queryId: number; start: number; end: number }
  | { op: 'connection'; id: number }
  | { op: 'client'; ip: string }
  | { op: 'document' }
  | { op: 'report-model'; connectionCap: number }
  /** The sessions this analysis ends with, as a state file for the next capture of the series. */
  | { op: 'state' };

export interface CallResults {
  query: { queryId: number; count: number };
  rows: ConnectionRow[];
  connection: ConnectionRecord | null;
  client: ClientStep[];
  document: AnalysisDocument;
  'report-model': ReportModel;
  state: Uint8Array;
}

export interface AnalysisProgress {
  bytesRead: number;
  bytesTotal: number;
  file: string;
  fileIndex: number;
  fileCount: number;
  connections: number;
  /** Once every file is read: how far the diagnosis is (its step, as the CLI shows it) ... */
  diagnosis?: string;
  /** ... and about which share of it is done (0-1). */
  diagnosisDone?: number;
}

export type WorkerResponse =
  | { type: 'progress'; progress: AnalysisProgress }
  | { type: 'done'; model: ReportModel; problems: { file: string; reason: string }[] }
  /** After 'done': the files' SHA-256, computed in a second pass so that results come first. */
  | { type: 'hashes'; files: AnalysedFile[] }
  | { type: 'cancelled' }
  | { type: 'failed'; message: string }
  | { type: 'reply'; callId: number; result: unknown }
  | { type: 'call-failed'; callId: number; message: string };
