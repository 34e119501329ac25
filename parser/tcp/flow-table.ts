import type { Abort, Anomaly, ConnectionRecord, Endpoint } from '../report/types.js';
import { TlsConnection } from '../session/tls-connection.js';
import { formatAddress, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpPacket } from '../net/decode-packet.js';
import { sequenceDelta, StreamReassembler, type StreamConsumer } from './stream-reassembler.js';

/** Capture-time seconds after the close (FIN both ways or RST) before a flow is finished. */
const CLOSED_LINGER = 10;
/** A flow with no packet for this long is finished (its record goes out). */
const IDLE_TIMEOUT = 600;
const SWEEP_EVERY_PACKETS = 16384;
const MAX_PENDING_EMPTY = 100000;

/** One TCP connection: two directions, each reassembled and fed to its TLS stream. */
export class TcpFlow {
  readonly endpoints: [Endpoint, Endpoint];
  readonly reassemblers: [StreamReassembler, StreamReassembler];
  readonly tls: TlsConnection;
  packets = 0;
  lastTime: number;
  endTime: number;
  /** Initial sequence numbers from SYNs, to tell a reused port from a retransmitted SYN. */
  readonly initialSequence: [number, number] = [-1, -1];
  readonly finSeen: [boolean, boolean] = [false, false];
  rstSeen = false;
  closedAt = -1;
  abort: Abort | null = null;
  payloadSeen = false;
  readonly anomalies: Anomaly[] = [];

  constructor(
    readonly key: string,
    readonly side0Key: string,
    source: Endpoint,
    destination: Endpoint,
    readonly startTime: number,
    readonly firstFrame: number,
    readonly file: string,
  ) {
    this.endpoints = [source, destination];
    this.lastTime = startTime;
    this.endTime = startTime;
    this.tls = new TlsConnection(file);
    this.reassemblers = [new StreamReassembler(this.consumerFor(0)), new StreamReassembler(this.consumerFor(1))];
  }

  private consumerFor(side: 0 | 1): StreamConsumer {
    const stream = this.tls.streams[side];
    return {
      onData: (bytes, time, frame) => {
        stream.push(bytes, time, frame);
        this.afterTls();
      },
      onGap: (length, _time, frame, cause) => {
        if (cause === 'snaplen') {
          if (!this.tls.established) this.tls.anomaly({ kind: 'truncated', code: 'snaplen', message: `${length} bytes of TCP payload not captured (snaplen)`, file: this.file, frame });
        } else if (!this.tls.established) {
          this.tls.anomaly({ kind: 'gap', code: 'tcp-gap', message: `${length} bytes missing from the ${side === this.tls.clientSide ? 'client' : 'server'} stream`, file: this.file, frame });
        }
        stream.gap(length, frame);
        this.afterTls();
      },
    };
  }

  /** Stop reassembling once nothing more is learnt: handshake established, or the stream is not TLS. */
  private afterTls(): void {
    const tls = this.tls;
    for (const side of [0, 1] as const) {
      if (this.reassemblers[side].isActive && (tls.done || tls.streams[side].gaveUp)) this.reassemblers[side].stop();
    }
  }

  get closed(): boolean {
    return this.closedAt >= 0;
  }

  toRecord(id: number, extra: Anomaly[] = []): ConnectionRecord {
    for (const r of this.reassemblers) r.flush(this.lastTime, 0);
    return this.tls.toRecord({
      id, endpoints: this.endpoints, startTime: this.startTime, endTime: this.endTime, firstFrame: this.firstFrame,
      packets: this.packets, handshakeBytes: this.reassemblers[0].bytesDelivered + this.reassemblers[1].bytesDelivered, abort: this.abort, endedCleanly: this.closed, extraAnomalies: [...this.anomalies, ...extra],
    });
  }
}

export type ConnectionSink = (record: ConnectionRecord) => void;

/** Address bytes and port as a short string: a cheap, exact map key. */
function endpointKey(address: Uint8Array, port: number): string {
  let s = '';
  for (let i = 0; i < address.length; i++) s += String.fromCharCode(address[i]!);
  return s + String.fromCharCode(port >> 8, port & 0xff);
}

export class FlowTable {
  private readonly flows = new Map<string, TcpFlow>();
  private nextId = 1;
  private packetsSinceSweep = 0;
  private now = 0;
  private lastSweep = 0;
  /** "ip|port" of endpoints that answered TLS: lets an empty RST'd connection count as a TLS abort. */
  private readonly tlsServers = new Set<string>();
  private pendingEmpty: TcpFlow[] = [];
  connectionsSeen = 0;

  constructor(private readonly emit: ConnectionSink) {}

  get liveFlows(): number {
    return this.flows.size;
  }

  onPacket(packet: TcpPacket, time: number, frame: number, file: string): void {
    if (time > this.now) this.now = time;
    const sourceKey = endpointKey(packet.source, packet.sourcePort);
    const destinationKey = endpointKey(packet.destination, packet.destinationPort);
    const key = sourceKey < destinationKey ? sourceKey + destinationKey : destinationKey + sourceKey;
    const flags = packet.flags;
    const isSyn = (flags & TCP_SYN) !== 0;
    const isBareSyn = isSyn && (flags & TCP_ACK) === 0;

    let flow = this.flows.get(key);
    if (flow !== undefined && isBareSyn) {
      const side = sourceKey === flow.side0Key ? 0 : 1;
      const previousIsn = flow.initialSequence[side];
      // A new SYN with another ISN, or after the close, is a new connection on a reused port.
      if (flow.closed || (previousIsn >= 0 && previousIsn !== packet.sequence) || (previousIsn < 0 && flow.payloadSeen)) {
        this.finish(flow);
        flow = undefined;
      }
    }
    if (flow === undefined) {
      flow = new TcpFlow(
        key, sourceKey,
        { ip: formatAddress(packet.source), port: packet.sourcePort },
        { ip: formatAddress(packet.destination), port: packet.destinationPort },
        time, frame, file,
      );
      this.flows.set(key, flow);
      this.connectionsSeen++;
    }
    this.update(flow, sourceKey === flow.side0Key ? 0 : 1, packet, time, frame, file);

    if (++this.packetsSinceSweep >= SWEEP_EVERY_PACKETS) this.sweep();
  }

  private update(flow: TcpFlow, side: 0 | 1, packet: TcpPacket, time: number, frame: number, file: string): void {
    flow.packets++;
    flow.lastTime = time;
    if (time > flow.endTime) flow.endTime = time;
    const flags = packet.flags;
    const tls = flow.tls;
    if (flags & TCP_SYN) {
      flow.initialSequence[side] = packet.sequence;
      if ((flags & TCP_ACK) === 0 && tls.synSide < 0) tls.synSide = side;
      else if ((flags & TCP_ACK) !== 0 && tls.synSide < 0) tls.synSide = side === 0 ? 1 : 0;
      flow.reassemblers[side].onSyn(packet.sequence);
    }
    const payload = packet.payload;
    if (payload.length > 0 || packet.missingPayload > 0) flow.payloadSeen = true;
    const sequence = flags & TCP_SYN ? (packet.sequence + 1) >>> 0 : packet.sequence;
    if (flags & TCP_RST) {
      // RFC 9293 §3.10.7.3: data on a RST is diagnostic text, not stream data.
      this.closeEvent(flow, side, 'rst', time, frame, file);
      flow.rstSeen = true;
      flow.closedAt = time;
      return;
    }
    flow.reassemblers[side].onSegment(sequence, payload, packet.missingPayload, (flags & TCP_FIN) !== 0, time, frame);
    if (flags & TCP_ACK) flow.reassemblers[side === 0 ? 1 : 0].onPeerAcknowledgment(packet.acknowledgment, time, frame);
    if (flags & TCP_FIN) {
      this.closeEvent(flow, side, 'fin', time, frame, file);
      flow.finSeen[side] = true;
      if (flow.finSeen[0] && flow.finSeen[1] && flow.closedAt < 0) flow.closedAt = time;
    }
    if (tls.serverHello !== null && tls.clientSide >= 0) {
      const server = flow.endpoints[tls.clientSide === 0 ? 1 : 0];
      if (this.tlsServers.size < 1_000_000) this.tlsServers.add(server.ip + '|' + server.port);
    }
  }

  /** The first RST or FIN before the handshake was established aborts it. */
  private closeEvent(flow: TcpFlow, side: 0 | 1, how: 'rst' | 'fin', time: number, frame: number, file: string): void {
    const tls = flow.tls;
    if (tls.established || flow.abort !== null) return;
    const clientSide = tls.clientSide >= 0 ? tls.clientSide : tls.synSide >= 0 ? tls.synSide : 0;
    flow.abort = {
      by: side === clientSide ? 'client' : 'server',
      how,
      stage: tls.abortStage(),
      time,
      frame,
      file,
    };
  }

  private sweep(): void {
    this.packetsSinceSweep = 0;
    if (this.now - this.lastSweep < 1) return;
    this.lastSweep = this.now;
    for (const flow of this.flows.values()) {
      if ((flow.closed && this.now - flow.closedAt > CLOSED_LINGER) || this.now - flow.lastTime > IDLE_TIMEOUT) this.finish(flow);
    }
  }

  private finish(flow: TcpFlow): void {
    this.flows.delete(flow.key);
    // Data still held behind a hole reaches TLS only now (a one-way capture, a lost segment).
    for (const r of flow.reassemblers) r.flush(flow.lastTime, 0);
    if (flow.tls.sawTls || flow.tls.streams[0].sawTls || flow.tls.streams[1].sawTls) {
      this.emit(flow.toRecord(this.nextId++));
      return;
    }
    // No TLS byte at all: a TLS abort only if it was closed before any payload, towards a TLS server.
    if (flow.abort === null || flow.payloadSeen || flow.tls.synSide < 0) return;
    if (this.isTlsServer(flow)) this.emit(flow.toRecord(this.nextId++));
    else if (this.pendingEmpty.length < MAX_PENDING_EMPTY) this.pendingEmpty.push(flow);
  }

  private isTlsServer(flow: TcpFlow): boolean {
    const server = flow.endpoints[flow.tls.synSide === 0 ? 1 : 0];
    return this.tlsServers.has(server.ip + '|' + server.port);
  }

  /** End of all input: every live flow is finished. */
  finishAll(): void {
    for (const flow of [...this.flows.values()]) this.finish(flow);
    for (const flow of this.pendingEmpty) if (this.isTlsServer(flow)) this.emit(flow.toRecord(this.nextId++));
    this.pendingEmpty = [];
  }
}
