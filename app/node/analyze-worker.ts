// Worker thread: analyses one capture file and posts its connection records back in batches.
import { parentPort } from 'node:worker_threads';
import type { ConnectionRecord } from '../../parser/report/types.js';
import { analyzeFiles, type InputFile } from './analyze-files.js';

export type WorkerRequest = { file: InputFile };
export type WorkerMessage =
  | { type: 'records'; records: ConnectionRecord[] }
  | { type: 'progress'; bytesDone: number }
  | { type: 'done'; result: Awaited<ReturnType<typeof analyzeFiles>> }
  | { type: 'failed'; message: string };

const BATCH = 2000;

parentPort?.on('message', async (request: WorkerRequest) => {
  let batch: ConnectionRecord[] = [];
  try {
    const result = await analyzeFiles([request.file], {
      onConnection: (record) => {
        batch.push(record);
        if (batch.length >= BATCH) {
          parentPort!.postMessage({ type: 'records', records: batch } satisfies WorkerMessage);
          batch = [];
        }
      },
      onProgress: (p) => parentPort!.postMessage({ type: 'progress', bytesDone: p.bytesDone } satisfies WorkerMessage),
    });
    if (batch.length > 0) parentPort!.postMessage({ type: 'records', records: batch } satisfies WorkerMessage);
    parentPort!.postMessage({ type: 'done', result } satisfies WorkerMessage);
  } catch (e) {
    parentPort!.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
  }
});
