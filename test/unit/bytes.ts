// Small byte builders for crafted unit tests: capture files (pcap, pcapng),
// link/IP/TCP headers and TLS records/handshakes. Everything is built by hand
// from the RFCs so a test states exactly which bytes it feeds the parser.

export type Bytes = Uint8Array;

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function u8(v: number): number[] {
  return [v & 0xff];
}
export function u16be(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}
export function u24be(v: number): number[] {
  return [(v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
export function u32be(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
export function u16(v: number, le: boolean): number[] {
  return le ? u16be(v).reverse() : u16be(v);
}
export function u32(v: number, le: boolean): number[] {
  return le ? u32be(v).reverse() : u32be(v);
}
export function fill(length: number, value = 0): Uint8Array {
  return new Uint8Array(length).fill(value);
}
/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/[^0-9a-f]/gi, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------
// pcap (pcap-savefile(5), draft-ietf-opsawg-pcap §4 file header, §5 record)

export interface PcapRecord {
  seconds: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  fraction: number;
  data: Uint8Array;
  /** Original (on-the-wire) length; defaults to data.length. */
  originalLength?: number;
}

export function pcapHeader(opts: { littleEndian?: boolean; nano?: boolean; snaplen?: number; linkType?: number } = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  const magic = opts.nano ? 0xa1b23c4d : 0xa1b2c3d4;
  return concat(u32(magic, le), u16(2, le), u16(4, le), u32(0, le), u32(0, le), u32(opts.snaplen ?? 65535, le), u32(opts.linkType ?? 1, le));
}

export function pcapRecord(r: PcapRecord, littleEndian = true): Uint8Array {
  const le = littleEndian;
  return concat(u32(r.seconds, le), u32(r.fraction, le), u32(r.data.length, le), u32(r.originalLength ?? r.data.length, le), r.data);
}

export function pcapFile(records: PcapRecord[], opts: { littleEndian?: boolean; nano?: boolean; snaplen?: number; linkType?: number } = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  return concat(pcapHeader(opts), ...records.map((r) => pcapRecord(r, le)));
}

// ---------------------------------------------------------------------------
// pcapng (draft-ietf-opsawg-pcapng §3.1 block layout, §4.1 SHB, §4.2 IDB,
// §4.3 EPB, §4.4 SPB, Appendix A obsolete Packet Block; §3.5 options)

function pad4(data: Uint8Array | number[]): Uint8Array {
  const padding = (4 - (data.length % 4)) % 4;
  return concat(data, fill(padding));
}

/** Generic block: type, total length, body (padded to 32 bits), total length again. */
export function pngBlock(type: number, body: Uint8Array | number[], le = true, trailerOverride?: number): Uint8Array {
  const padded = pad4(body);
  const total = 12 + padded.length;
  return concat(u32(type, le), u32(total, le), padded, u32(trailerOverride ?? total, le));
}

export function pngOption(code: number, value: Uint8Array | number[], le = true): Uint8Array {
  return concat(u16(code, le), u16(value.length, le), pad4(value));
}
export function pngEndOfOptions(le = true): Uint8Array {
  return concat(u16(0, le), u16(0, le));
}

export function shb(le = true): Uint8Array {
  // byte-order magic, major 1, minor 0, section length -1 (unknown)
  return pngBlock(0x0a0d0d0a, concat(u32(0x1a2b3c4d, le), u16(1, le), u16(0, le), fill(8, 0xff)), le);
}

export function idb(opts: { linkType: number; snaplen?: number; tsresol?: number; tsoffset?: bigint }, le = true): Uint8Array {
  const options: Uint8Array[] = [];
  if (opts.tsresol !== undefined) options.push(pngOption(9, [opts.tsresol], le));
  if (opts.tsoffset !== undefined) {
    const v = BigInt.asUintN(64, opts.tsoffset);
    const high = Number(v >> 32n);
    const low = Number(v & 0xffffffffn);
    // 64-bit values are written in the section's byte order (§3.5).
    options.push(pngOption(14, le ? concat(u32(low, true), u32(high, true)) : concat(u32(high, false), u32(low, false)), le));
  }
  if (options.length > 0) options.push(pngEndOfOptions(le));
  return pngBlock(1, concat(u16(opts.linkType, le), u16(0, le), u32(opts.snaplen ?? 0, le), ...options), le);
}

/** Enhanced Packet Block; `timestamp` in the interface's units. */
export function epb(opts: { interfaceId: number; timestamp: bigint; data: Uint8Array; originalLength?: number; trailerOverride?: number }, le = true): Uint8Array {
  const high = Number(opts.timestamp >> 32n);
  const low = Number(opts.timestamp & 0xffffffffn);
  return pngBlock(6, concat(u32(opts.interfaceId, le), u32(high, le), u32(low, le), u32(opts.data.length, le), u32(opts.originalLength ?? opts.data.length, le), pad4(opts.data)), le, opts.trailerOverride);
}

/** Simple Packet Block: original length and data only (§4.4). */
export function spb(opts: { data: Uint8Array; originalLength?: number }, le = true): Uint8Array {
  return pngBlock(3, concat(u32(opts.originalLength ?? opts.data.length, le), pad4(opts.data)), le);
}

/** Obsolete Packet Block (Appendix A): 16-bit interface id and drops count. */
export function obsoletePb(opts: { interfaceId: number; timestamp: bigint; data: Uint8Array; originalLength?: number }, le = true): Uint8Array {
  const high = Number(opts.timestamp >> 32n);
  const low = Number(opts.timestamp & 0xffffffffn);
  return pngBlock(2, concat(u16(opts.interfaceId, le), u16(0, le), u32(high, le), u32(low, le), u32(opts.data.length, le), u32(opts.originalLength ?? opts.data.length, le), pad4(opts.data)), le);
}

// ---------------------------------------------------------------------------
// Link, IP and TCP

export const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
export const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

/** Ethernet II header (IEEE 802.3 §3.1.1) followed by the payload. */
export function ethernet(etherType: number, payload: Uint8Array, vlanTags: { tpid: number; vid: number }[] = []): Uint8Array {
  const tags = vlanTags.map((t) => concat(u16be(t.tpid), u16be(t.vid)));
  // With tags, the first TPID sits where the EtherType would be (802.1Q §9.3).
  return concat(MAC_A, MAC_B, ...tags, u16be(etherType), payload);
}

export interface TcpOpts {
  sourcePort?: number;
  destinationPort?: number;
  sequence?: number;
  acknowledgment?: number;
  flags?: number;
  payload?: Uint8Array;
  /** TCP options (padded to 32 bits). */
  options?: Uint8Array;
}

/** RFC 9293 §3.1 TCP header (checksum left zero: the decoder does not verify it). */
export function tcp(o: TcpOpts = {}): Uint8Array {
  const options = o.options ? pad4(o.options) : new Uint8Array(0);
  const dataOffset = (20 + options.length) / 4;
  return concat(
    u16be(o.sourcePort ?? 40000), u16be(o.destinationPort ?? 443), u32be(o.sequence ?? 1000), u32be(o.acknowledgment ?? 0),
    [dataOffset << 4, o.flags ?? 0x18], u16be(65535), u16be(0), u16be(0), options, o.payload ?? new Uint8Array(0),
  );
}

export interface Ipv4Opts {
  source?: number[];
  destination?: number[];
  protocol?: number;
  /** Flags (3 bits) and fragment offset (13 bits), RFC 791 §3.1. */
  flagsAndOffset?: number;
  /** IP options, padded to 32 bits (IHL > 5). */
  options?: Uint8Array;
  /** Override the total length field. */
  totalLength?: number;
  /** Identification (RFC 791 §3.1), 0x1234 by default. */
  id?: number;
}

/** RFC 791 §3.1 IPv4 header + payload. */
export function ipv4(payload: Uint8Array, o: Ipv4Opts = {}): Uint8Array {
  const options = o.options ? pad4(o.options) : new Uint8Array(0);
  const ihl = (20 + options.length) / 4;
  const total = o.totalLength ?? 20 + options.length + payload.length;
  return concat(
    [0x40 | ihl, 0], u16be(total), u16be(o.id ?? 0x1234), u16be(o.flagsAndOffset ?? 0x4000), [64, o.protocol ?? 6], u16be(0),
    o.source ?? [10, 0, 0, 1], o.destination ?? [10, 0, 0, 2], options, payload,
  );
}

export const V6_A = fromHex('20010db8000000000000000000000001');
export const V6_B = fromHex('20010db8000000000000000000000002');

/** RFC 8200 §3 IPv6 header + payload (which may begin with extension headers). */
export function ipv6(payload: Uint8Array, o: { nextHeader?: number; source?: Uint8Array; destination?: Uint8Array; payloadLength?: number } = {}): Uint8Array {
  return concat([0x60, 0, 0, 0], u16be(o.payloadLength ?? payload.length), [o.nextHeader ?? 6, 64], o.source ?? V6_A, o.destination ?? V6_B, payload);
}

/** RFC 8200 §4.3/§4.6 options extension header (hop-by-hop, destination): 8-octet units. */
export function ipv6OptionsHeader(nextHeader: number, units = 1): Uint8Array {
  // Hdr Ext Len counts 8-octet units beyond the first; fill with PadN (type 1).
  const length = units * 8;
  return concat([nextHeader, units - 1, 1, length - 4], fill(length - 4));
}

/** RFC 8200 §4.5 fragment header. */
export function ipv6FragmentHeader(nextHeader: number, offset: number, more: boolean): Uint8Array {
  return concat([nextHeader, 0], u16be((offset << 3) | (more ? 1 : 0)), u32be(0xdeadbeef));
}

// ---------------------------------------------------------------------------
// TLS (RFC 5246 §6.2.1 records, §7.4 handshake; RFC 8446 §4, §5.1)

export function tlsRecord(contentType: number, body: Uint8Array | number[], version = 0x0303): Uint8Array {
  return concat([contentType], u16be(version), u16be(body.length), body);
}

export function handshake(type: number, body: Uint8Array | number[]): Uint8Array {
  return concat([type], u24be(body.length), body);
}

export function extension(type: number, data: Uint8Array | number[]): Uint8Array {
  return concat(u16be(type), u16be(data.length), data);
}

/** Vector with a 1-, 2- or 3-byte length prefix (RFC 8446 §3.4). */
export function vec(lengthBytes: 1 | 2 | 3, data: Uint8Array | number[]): Uint8Array {
  const len = lengthBytes === 1 ? u8(data.length) : lengthBytes === 2 ? u16be(data.length) : u24be(data.length);
  return concat(len, data);
}

export const ext = {
  /** RFC 6066 §3 server_name with one host_name. */
  serverName: (name: string) => extension(0, vec(2, concat([0], vec(2, ascii(name))))),
  /** RFC 7301 §3.1 ProtocolNameList. */
  alpn: (names: string[]) => extension(16, vec(2, concat(...names.map((n) => vec(1, ascii(n)))))),
  /** RFC 8446 §4.2.1 ClientHello form (u8 length list). */
  supportedVersionsClient: (versions: number[]) => extension(43, vec(1, concat(...versions.map(u16be)))),
  /** RFC 8446 §4.2.1 ServerHello form (one selected_version). */
  supportedVersionsServer: (version: number) => extension(43, u16be(version)),
  supportedGroups: (groups: number[]) => extension(10, vec(2, concat(...groups.map(u16be)))),
  signatureAlgorithms: (algs: number[]) => extension(13, vec(2, concat(...algs.map(u16be)))),
  ecPointFormats: (formats: number[]) => extension(11, vec(1, formats)),
  /** RFC 5077 §3.2: empty to ask for a ticket, else the ticket. */
  sessionTicket: (ticket: Uint8Array) => extension(35, ticket),
  /** RFC 8446 §4.2.11 OfferedPsks: identities then binders. */
  preSharedKeyClient: (identities: Uint8Array[]) =>
    extension(41, concat(
      vec(2, concat(...identities.map((id) => concat(vec(2, id), u32be(0x01020304))))),
      vec(2, concat(...identities.map(() => vec(1, fill(32, 0xbb))))),
    )),
  /** RFC 8446 §4.2.11 ServerHello: selected_identity. */
  preSharedKeyServer: (selected: number) => extension(41, u16be(selected)),
  pskKeyExchangeModes: (modes: number[]) => extension(45, vec(1, modes)),
  /** RFC 8446 §4.2.8 client_shares. */
  keyShareClient: (groups: number[]) => extension(51, vec(2, concat(...groups.map((g) => concat(u16be(g), vec(2, fill(32, 0x11))))))),
  keyShareServer: (group: number) => extension(51, concat(u16be(group), vec(2, fill(32, 0x22)))),
  earlyData: () => extension(42, []),
  extendedMasterSecret: () => extension(23, []),
  renegotiationInfo: () => extension(0xff01, [0]),
};

/** RFC 8446 §4.1.3 HelloRetryRequest random (SHA-256 of "HelloRetryRequest"). */
export const HRR_RANDOM = fromHex('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c');

export function clientHelloBody(o: { version?: number; random?: Uint8Array; sessionId?: Uint8Array; cipherSuites?: number[]; compression?: number[]; extensions?: Uint8Array[] | null } = {}): Uint8Array {
  const exts = o.extensions === null ? new Uint8Array(0) : vec(2, concat(...(o.extensions ?? [])));
  return concat(
    u16be(o.version ?? 0x0303), o.random ?? fill(32, 0xaa), vec(1, o.sessionId ?? []),
    vec(2, concat(...(o.cipherSuites ?? [0x1301, 0xc02f]).map(u16be))), vec(1, o.compression ?? [0]), exts,
  );
}

export function serverHelloBody(o: { version?: number; random?: Uint8Array; sessionId?: Uint8Array; cipherSuite?: number; extensions?: Uint8Array[] | null } = {}): Uint8Array {
  const exts = o.extensions === null ? new Uint8Array(0) : vec(2, concat(...(o.extensions ?? [])));
  return concat(u16be(o.version ?? 0x0303), o.random ?? fill(32, 0x55), vec(1, o.sessionId ?? []), u16be(o.cipherSuite ?? 0xc02f), [0], exts);
}

export const HS = {
  clientHello: 1, serverHello: 2, newSessionTicket: 4, certificate: 11, serverKeyExchange: 12,
  serverHelloDone: 14, clientKeyExchange: 16, finished: 20,
} as const;
export const CT = { ccs: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** A ClientHello in its own handshake record. */
export function clientHelloRecord(o: Parameters<typeof clientHelloBody>[0] = {}): Uint8Array {
  return tlsRecord(CT.handshake, handshake(HS.clientHello, clientHelloBody(o)), 0x0301);
}
export function serverHelloRecord(o: Parameters<typeof serverHelloBody>[0] = {}): Uint8Array {
  return tlsRecord(CT.handshake, handshake(HS.serverHello, serverHelloBody(o)));
}
export function ccsRecord(): Uint8Array {
  return tlsRecord(CT.ccs, [1]);
}
/** An encrypted record (Finished after CCS, or TLS 1.3 application_data). */
export function encryptedRecord(contentType: number = CT.applicationData, length = 40): Uint8Array {
  return tlsRecord(contentType, pseudoRandom(length, 7 + length));
}

/** Split bytes into chunks at the given offsets. */
export function splitAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let last = 0;
  for (const o of [...offsets].sort((a, b) => a - b)) {
    out.push(bytes.subarray(last, o));
    last = o;
  }
  out.push(bytes.subarray(last));
  return out;
}

/** Feed bytes as separate copies (so no chunk aliases another). */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.slice(i, i + 1));
  return out;
}

// ---------------------------------------------------------------------------
// Tunnels: what a mirror or a load balancer wraps a frame or a packet in.

/** RFC 768 UDP header (checksum 0: none, allowed over IPv4) + payload. */
export function udp(payload: Uint8Array, o: { sourcePort?: number; destinationPort: number; length?: number }): Uint8Array {
  return concat(u16be(o.sourcePort ?? 49152), u16be(o.destinationPort), u16be(o.length ?? 8 + payload.length), u16be(0), payload);
}

/** RFC 7348 §5 VXLAN header (I flag set unless `flags` says otherwise) + an Ethernet frame. */
export function vxlan(frame: Uint8Array, o: { vni?: number; flags?: number } = {}): Uint8Array {
  return concat([o.flags ?? 0x08, 0, 0, 0], u32be(((o.vni ?? 42) << 8) >>> 0), frame);
}

/** RFC 8926 §3.4 Geneve header with `options` (a multiple of 4 bytes) + payload of `protocol`. */
export function geneve(payload: Uint8Array, o: { protocol?: number; options?: Uint8Array; version?: number } = {}): Uint8Array {
  const options = o.options ?? new Uint8Array(0);
  return concat([((o.version ?? 0) << 6) | (options.length / 4), 0], u16be(o.protocol ?? 0x6558), u32be(7 << 8), options, payload);
}

/** RFC 2784/2890 GRE header: checksum, key and sequence fields as asked + payload of `protocol`. */
export function gre(payload: Uint8Array, o: { protocol: number; checksum?: boolean; key?: number; sequence?: number; version?: number }): Uint8Array {
  const flags = (o.checksum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.sequence !== undefined ? 0x1000 : 0) | (o.version ?? 0);
  return concat(
    u16be(flags), u16be(o.protocol),
    o.checksum ? [0, 0, 0, 0] : [], o.key !== undefined ? u32be(o.key) : [], o.sequence !== undefined ? u32be(o.sequence) : [],
    payload,
  );
}

/** ERSPAN type II header (draft-foschiano-erspan-03 §4.2: version 1, session 5) + the mirrored frame. */
export function erspan2(frame: Uint8Array): Uint8Array {
  return concat(u16be(0x1000), u16be(5), u32be(0), frame);
}

/** ERSPAN type III header (§4.3: version 2), frame type FT (0 Ethernet, 2 IP), optional 8-byte subheader (O flag). */
export function erspan3(frame: Uint8Array, o: { frameType?: number; subheader?: boolean } = {}): Uint8Array {
  const word = ((o.frameType ?? 0) << 10) | (o.subheader ? 1 : 0);
  return concat(u16be(0x2000), u16be(5), u32be(0x01020304), u16be(0), u16be(word), o.subheader ? fill(8, 0xee) : [], frame);
}

/** RFC 3032 §2.1 label stack (the last entry with the bottom-of-stack bit) + payload. */
export function mpls(payload: Uint8Array, labels: number[] = [100, 200]): Uint8Array {
  const entries = labels.map((label, i) => u32be(((label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0));
  return concat(...entries, payload);
}
