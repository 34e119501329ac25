// The UI side of the analysis worker: starts analyses, relays progress, and implements the
// connection store by calls into the worker (every connection record stays there).
import type { AnalysedFile, ClientStep, ReportModel } from '../../../../parser/report/report-model.js';
import type { AnalysisDocument, ConnectionRecord } from '../../../../parser/report/types.js';
import type { AnalysisProgress, CallResults, CaptureSource, WorkerCall, WorkerRequest, WorkerResponse } from '../worker/protocol.js';
import type { ConnectionFilter, ConnectionRow, ConnectionSort } from './connection-query.js';
import type { ConnectionStore, QueryResult } from './store.js';

export interface AnalysisCallbacks {
  onProgress(progress: AnalysisProgress): void;
  onDone(model: ReportModel, problems: { file: string; reason: string }[]): void;
  /** The files' SHA-256, a few seconds after onDone (computed in a second pass). */
  onHashes?(files: AnalysedFile[]): void;
  onCancelled(): void;
  onFailed(message: string): void;
}

export class AnalysisWorkerClient implements ConnectionStore {
  private readonly worker: Worker;
  private nextCallId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private callbacks: AnalysisCallbacks | null = null;
  total = 0;

  constructor() {
    this.worker = new Worker(new URL('../worker/analysis-worker.ts', import.meta.url), { type: 'module', name: 'resumescope-analysis' });
    this.worker.onmessage = (event: MessageEvent<WorkerResponse>) => this.receive(event.data);
    this.worker.onerror = (event) => this.callbacks?.onFailed(event.message || 'the analysis worker failed');
  }

  /** Cancel was clicked for the analysis running: results that cross the click are dropped. */
  private cancelling = false;

  /** state: a state file of the same series (sessions carried in from its earlier captures), or null. */
  analyze(sources: CaptureSource[], state: File | null, callbacks: AnalysisCallbacks): void {
    this.callbacks = callbacks;
    this.cancelling = false;
    this.send({ type: 'analyze', sources, state, analysedAt: new Date().toISOString() });
  }

  /** The sessions the last analysis ended with, as a state file's bytes. */
  stateFile(): Promise<Uint8Array> {
    return this.call({ op: 'state' });
  }

  cancel(): void {
    this.cancelling = true;
    this.send({ type: 'cancel' });
  }

  private send(request: WorkerRequest): void {
    this.worker.postMessage(request);
  }

  private receive(message: WorkerResponse): void {
    switch (message.type) {
      case 'progress': this.callbacks?.onProgress(message.progress); return;
      case 'done':
        if (this.cancelling) {
          // Posted before the worker saw the Cancel: the click wins.
          this.callbacks?.onCancelled();
          return;
        }
        this.total = message.model.overview.totals.connections;
        this.callbacks?.onDone(message.model, message.problems);
        return;
      case 'hashes': this.callbacks?.onHashes?.(message.files); return;
      case 'cancelled': this.callbacks?.onCancelled(); return;
      case 'failed': this.callbacks?.onFailed(message.message); return;
      case 'reply': {
        const p = this.pending.get(message.callId);
        this.pending.delete(message.callId);
        p?.resolve(message.result);
        return;
      }
      case 'call-failed': {
        const p = this.pending.get(message.callId);
        this.pending.delete(message.callId);
        p?.reject(new Error(message.message));
        return;
      }
    }
  }

  private call<K extends WorkerCall['op']>(call: Extract<WorkerCall, { op: K }>): Promise<CallResults[K]> {
    const callId = this.nextCallId++;
    return new Promise<CallResults[K]>((resolve, reject) => {
      this.pending.set(callId, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ type: 'call', callId, call });
    });
  }

  query(filter: ConnectionFilter, sort: ConnectionSort): Promise<QueryResult> {
    return this.call({ op: 'query', filter, sort });
  }
  rows(queryId: number, start: number, end: number): Promise<ConnectionRow[]> {
    return this.call({ op: 'rows', queryId, start, end });
  }
  connection(id: number): Promise<ConnectionRecord | null> {
    return this.call({ op: 'connection', id });
  }
  clientSequence(ip: string): Promise<ClientStep[]> {
    return this.call({ op: 'client', ip });
  }
  document(): Promise<AnalysisDocument> {
    return this.call({ op: 'document' });
  }
  reportModel(connectionCap: number): Promise<ReportModel> {
    return this.call({ op: 'report-model', connectionCap });
  }
}
