// --pcapng-out's second pass over the inputs: the chosen connections' packets, read in the order
// and groups the analysis read them in, so that files read merged by time (a file per direction of
// a tap) come out merged by time too, as one capture of both directions.

import { ChunkSource, readInTimeOrder, type PlannedFile } from '../../parser/merged-reading.js';
import type { ExportFileReader, FailureExporter } from '../../parser/report/failure-export.js';
import { captureChunks, type InputFile } from './analyze-files.js';

/** One input's bytes into the exporter; a stream cannot be read again and ends at once. */
class ExportSource extends ChunkSource<ExportFileReader> {
  private chunks: AsyncIterator<Uint8Array> | null = null;

  constructor(readonly input: InputFile, private readonly exporter: FailureExporter, private readonly planned: Pick<PlannedFile, 'clockOffset' | 'clockDrift' | 'dropCopies'>) {
    super();
    if (input.stream) this.ended = true;
  }

  async read(bound: number): Promise<void> {
    if (this.ended) return;
    try {
      this.chunks ??= captureChunks(this.input.path)[Symbol.asyncIterator]();
      const { done, value } = await this.chunks.next();
      if (done) {
        this.ended = true;
        return;
      }
      this.ingest ??= this.exporter.openFile(this.input.path, value, this.planned);
      this.ingest.holdAfter = bound;
      this.ingest.push(value);
    } catch (e) {
      // Damage and unreadable files were reported by the analysis's pass: what was read is kept.
      this.fail(e);
    }
  }

  async close(): Promise<void> {
    try {
      if (this.failure === null) this.ingest?.finish();
    } catch {
      // As above: the analysis's pass reported it.
    }
    await this.abandon();
  }

  async abandon(): Promise<void> {
    await this.chunks?.return?.(undefined);
  }
}

/**
 * Feeds the inputs to the exporter in the plan's order (readingPlan: the analysis's); streams are
 * passed to `skipped`. `afterRead` is awaited after each chunk (the output's back-pressure).
 */
export async function exportInReadingOrder(inputs: InputFile[], plan: readonly PlannedFile[], exporter: FailureExporter, hooks: { skipped(input: InputFile): void; afterRead(): Promise<void> }): Promise<void> {
  for (const input of inputs) if (input.stream) hooks.skipped(input);
  await readInTimeOrder<ExportSource>(plan, {
    open: (planned) => new ExportSource(inputs[planned.index]!, exporter, planned),
    afterRead: () => hooks.afterRead(),
    close: (source) => source.close(),
    abandon: (source) => source.abandon(),
  });
}
