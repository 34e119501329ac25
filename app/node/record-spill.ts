// Keeps memory bounded by sessions, not connections: beyond the first 20,000 connections,
// each finished connection record is written to a temporary NDJSON file at once, and only a slim copy (the fields the
// diagnosis reads, with repeated strings shared) stays in memory. The outputs are written
// at the end by replaying the file and adding what the diagnosis found.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionRecord } from '../../parser/report/types.js';
import { wiresharkFilter } from '../../parser/session/tls-connection.js';

const FLUSH_AT = 1 << 20;
/** Records kept whole in memory before spilling starts: small captures never touch the disk. */
const KEEP_IN_MEMORY = 20_000;
const NO_ANOMALIES: ConnectionRecord['anomalies'] = [];

export class RecordSpill {
  private readonly dir: string;
  private readonly path: string;
  private fd: number;
  private pending = '';
  private readonly strings = new Map<string, string>();
  count = 0;

  private readonly kept: ConnectionRecord[] = [];

  constructor(private readonly keepInMemory = KEEP_IN_MEMORY) {
    this.dir = mkdtempSync(join(tmpdir(), 'resumescope-'));
    this.path = join(this.dir, 'connections.ndjson');
    this.fd = openSync(this.path, 'w');
  }

  /** Store the full record; returns the copy to keep (the record itself while memory allows). */
  add(record: ConnectionRecord): ConnectionRecord {
    if (this.kept.length < this.keepInMemory) {
      this.kept.push(record);
      this.count++;
      return record;
    }
    this.pending += JSON.stringify(record) + '\n';
    if (this.pending.length >= FLUSH_AT) this.flush();
    this.count++;
    return this.slim(record);
  }

  private flush(): void {
    if (this.pending.length > 0) writeSync(this.fd, this.pending);
    this.pending = '';
  }

  private intern(text: string | null): string | null {
    if (text === null) return null;
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    if (this.strings.size < 200_000) this.strings.set(text, text);
    return text;
  }

  /** The fields the diagnosis and the summary read; the rest waits in the file. */
  private slim(c: ConnectionRecord): ConnectionRecord {
    return new SlimRecord(c, (t) => this.intern(t), (e) => this.endpoint(e));
  }

  /** Server endpoints repeat across connections: one object per address and port. */
  private readonly endpoints = new Map<string, ConnectionRecord['server']>();

  private endpoint(e: ConnectionRecord['server']): ConnectionRecord['server'] {
    const key = `${e.ip}|${e.port}`;
    const known = this.endpoints.get(key);
    if (known !== undefined) return known;
    const shared = { ip: this.intern(e.ip)!, port: e.port };
    if (this.endpoints.size < 100_000) this.endpoints.set(key, shared);
    return shared;
  }

  /** The full records in the order they were added, for writing the outputs. */
  async *replay(): AsyncGenerator<ConnectionRecord> {
    for await (const item of this.replayRaw()) yield item.record ?? (JSON.parse(item.line!) as ConnectionRecord);
  }

  /**
   * The records in order: those kept in memory as objects, the spilled ones as their JSON
   * text (one line each), so that a writer can pass them on without parsing them again.
   */
  async *replayRaw(): AsyncGenerator<{ record?: ConnectionRecord; line?: string }> {
    for (const record of this.kept) yield { record };
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
    const handle = await open(this.path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(1 << 20);
      const decoder = new StringDecoder('utf8');
      let rest = '';
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        const text = rest + decoder.write(buffer.subarray(0, bytesRead));
        let start = 0;
        for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
          if (end > start) yield { line: text.slice(start, end) };
          start = end + 1;
        }
        rest = text.slice(start);
      }
      rest += decoder.end();
      if (rest.length > 0) yield { line: rest };
    } finally {
      await handle.close();
    }
  }

  dispose(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A connection record with only what the diagnosis, the summary and the report read.
 * A class, so every instance shares one shape (an object literal with a getter would
 * fall back to slow dictionary properties: ~1.5 KB per connection).
 */
const NOT_OFFERED: ConnectionRecord['offer'] = Object.freeze({ sessionId: null, ticket: false, psk: false });

class SlimRecord implements ConnectionRecord {
  id: number; client: ConnectionRecord['client']; server: ConnectionRecord['server'];
  startTime: number; clientHelloTime: number | null; serverHelloTime: number | null; endTime: number;
  sni: string | null; alpn: string | null; version: string | null; cipher: string | null;
  offer: ConnectionRecord['offer']; serverSessionId: string | null; resumption: ConnectionRecord['resumption'];
  resumedBy: ConnectionRecord['resumedBy']; resumed: boolean; established: boolean; handshake: ConnectionRecord['handshake'];
  abort: ConnectionRecord['abort']; history: string; anomalies: ConnectionRecord['anomalies'];
  clientHelloVersion: string | null; helloRetry: boolean; ticketIssued: boolean; ticketLifetimeHint: number | null;
  issuedTicket: string | null; offeredTicket: string | null; offeredPskIdentity: string | null;
  certificateSeen: boolean; alerts: ConnectionRecord['alerts']; clientFingerprint: string | null;
  file: string; firstFrame: number; packets: number; handshakeBytes: number;
  reason: string | null = null; reasonDetail?: string; session: unknown = null;

  constructor(c: ConnectionRecord, intern: (text: string | null) => string | null, endpoint: (e: ConnectionRecord['server']) => ConnectionRecord['server']) {
    this.id = c.id;
    this.client = { ip: intern(c.client.ip)!, port: c.client.port };
    this.server = endpoint(c.server);
    this.startTime = c.startTime;
    this.clientHelloTime = c.clientHelloTime;
    this.serverHelloTime = c.serverHelloTime;
    this.endTime = c.endTime;
    this.sni = intern(c.sni);
    this.alpn = intern(c.alpn);
    this.version = intern(c.version);
    this.cipher = intern(c.cipher);
    const o = c.offer;
    this.offer = o.sessionId === null && !o.ticket && !o.psk ? NOT_OFFERED : o;
    // On a resumption the echoed ID equals the offered one: keep one string.
    this.serverSessionId = c.serverSessionId !== null && c.serverSessionId === o.sessionId ? o.sessionId : c.serverSessionId;
    this.resumption = c.resumption;
    this.resumedBy = c.resumedBy;
    this.resumed = c.resumed;
    this.established = c.established;
    this.handshake = c.handshake;
    this.abort = c.abort;
    this.history = intern(c.history)!;
    this.anomalies = c.anomalies.length === 0 ? NO_ANOMALIES : c.anomalies;
    this.clientHelloVersion = intern(c.clientHelloVersion);
    this.helloRetry = c.helloRetry;
    this.certificateSeen = c.certificateSeen;
    this.alerts = c.alerts.length === 0 ? NO_ALERTS : c.alerts;
    this.ticketIssued = c.ticketIssued;
    this.ticketLifetimeHint = c.ticketLifetimeHint;
    this.issuedTicket = c.issuedTicket;
    this.offeredTicket = c.offeredTicket;
    this.offeredPskIdentity = c.offeredPskIdentity;
    this.clientFingerprint = intern(c.clientFingerprint);
    this.file = intern(c.file)!;
    this.firstFrame = c.firstFrame;
    this.packets = c.packets;
    this.handshakeBytes = c.handshakeBytes;
  }

  /** Computed when read: a string per connection would cost more than the rest of the record. */
  get wiresharkFilter(): string {
    return wiresharkFilter(this.client, this.server);
  }

  toJSON(): object {
    return { ...this, wiresharkFilter: this.wiresharkFilter };
  }
}

const NO_ALERTS: ConnectionRecord['alerts'] = [];
