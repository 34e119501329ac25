// Worker thread: analyses one capture file into its own column store and moves the store's
// blocks to the main thread at the end (a transfer, not a copy: the main thread neither
// deserialises nor rebuilds records, it appends rows).
import { parentPort } from 'node:worker_threads';
import { ConnectionStore, snapshotBuffers, type StoreSnapshot } from '../../parser/report/connection-store.js';
import { analyzeFiles, type InputFile } from './analyze-files.js';

export type WorkerRequest = { file: InputFile };
export type WorkerMessage =
  | { type: 'progress'; bytesDone: number }
  | { type: 'done'; result: Awaited<ReturnType<typeof analyzeFiles>>; connections: StoreSnapshot }
  | { type: 'failed'; message: string };

parentPort?.on('message', async (request: WorkerRequest) => {
  try {
    const store = new ConnectionStore();
    const result = await analyzeFiles([request.file], {
      onConnection: store,
      onProgress: (p) => parentPort!.postMessage({ type: 'progress', bytesDone: p.bytesDone } satisfies WorkerMessage),
    });
    const connections = store.snapshot();
    parentPort!.postMessage({ type: 'done', result, connections } satisfies WorkerMessage, snapshotBuffers(connections));
  } catch (e) {
    parentPort!.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
  }
});
