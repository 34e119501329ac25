import { freemem } from 'node:os';

// An analysis holds every connection's row until its outputs are written (~0.43 KB a connection
// at the peak on the 2-million-connection bench capture, its sessions included), so a capture of
// a whole day can need more memory than the machine has: the kernel would end the run hours in,
// with nothing written. While the input is read, the memory the reading takes says how much the
// whole will take; when that is more than the machine can give, the user hears it early, with the
// way out (a capture cut into parts, analysed one after another with --state).

/** What the process holds and what it could hold, in bytes. */
export interface MemoryReading {
  resident: number;
  /** The most this process can hold: its own memory plus what the system has available, within its cgroup's limit. */
  available: number;
}

/** This process's memory, as MemoryForecast reads it. */
export function readMemory(): MemoryReading {
  const resident = process.memoryUsage.rss();
  const limit = process.constrainedMemory?.() ?? 0;
  const free = resident + freemem();
  return { resident, available: limit > 0 && limit < free ? limit : free };
}

/**
 * The peak over the memory held at the end of the reading: the diagnosis's session table, offer
 * columns and working arrays, then the writers' buffers, come on top of the stored rows. Measured:
 * the 1 GB bench file 117 -> 174 MiB, the 2-million-connection capture 577 -> 858 MiB (1.49 both).
 */
const PEAK_OVER_READ = 1.5;
/**
 * The reading's first megabytes pay for compiled code, buffers and the young generation, which do
 * not grow with the input (the 1 GB bench file: 52 -> ~75 MiB over its first 64 MiB, then ~3.5
 * MiB per 128 MiB): the rate is measured from a reading taken after them, over a stretch of input.
 */
const MIN_BYTES_BEFORE = 64 * 2 ** 20;
const MIN_STRETCH = 64 * 2 ** 20;
/** Memory is read again after this much more input (a reading costs a system call or two). */
const CHECK_EVERY_BYTES = 16 * 2 ** 20;

/**
 * The peak a whole input of `bytesTotal` will take, from the memory held after `reference.bytes`
 * and after `bytesDone` of it: the rate between the two carried on to the end of the reading, then
 * the diagnosis's share on top. Null while the stretch is too short to tell, or the size unknown (0).
 */
export function forecastPeak(reference: { bytes: number; resident: number }, bytesDone: number, bytesTotal: number, resident: number): number | null {
  const stretch = bytesDone - reference.bytes;
  if (bytesTotal <= 0 || stretch < Math.max(MIN_STRETCH, bytesTotal * 0.03)) return null;
  const perByte = Math.max(0, resident - reference.resident) / stretch;
  return (resident + perByte * Math.max(0, bytesTotal - bytesDone)) * PEAK_OVER_READ;
}

export class MemoryForecast {
  private warned = false;
  private nextCheck = 0;
  private reference: { bytes: number; resident: number } | null = null;

  /** `read`: the process's memory, asked every CHECK_EVERY_BYTES of input. */
  constructor(private readonly read: () => MemoryReading = readMemory) {}

  /**
   * A warning, once, when the forecast peak is more than the memory available; else null. The
   * memory is read every CHECK_EVERY_BYTES of input, from MIN_BYTES_BEFORE (or 2 % of the input) on.
   */
  check(bytesDone: number, bytesTotal: number): string | null {
    if (this.warned || bytesTotal <= 0 || bytesDone < Math.max(this.nextCheck, MIN_BYTES_BEFORE, bytesTotal * 0.02)) return null;
    this.nextCheck = bytesDone + CHECK_EVERY_BYTES;
    const now = this.read();
    if (this.reference === null) {
      this.reference = { bytes: bytesDone, resident: now.resident };
      return null;
    }
    const peak = forecastPeak(this.reference, bytesDone, bytesTotal, now.resident);
    if (peak === null || peak <= now.available) return null;
    this.warned = true;
    const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`);
    const share = Math.max(1, Math.floor((bytesDone / bytesTotal) * 100));
    return `warning: at this rate the analysis needs about ${size(peak)} of memory at its peak (${size(now.resident)} ` +
      `after ${share} % of the input), more than the ${size(now.available)} this machine can give it; it goes on, but may be ` +
      'stopped for want of memory. Memory grows with the connections held until the end: cut the capture into parts ' +
      '(editcap -i 3600 in.pcap part.pcap: one file an hour) and analyse them in time order with --state FILE, which ' +
      'carries the sessions from one part to the next.';
  }
}
