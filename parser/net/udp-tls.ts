// TLS carried over UDP: QUIC (TLS 1.3 inside QUIC, RFC 9001) and DTLS. resumescope follows TLS
// over TCP only; these datagrams are counted so that a capture of browser traffic that went over
// QUIC does not look empty without a word (Chromium reaches most large sites over QUIC).

export const enum UdpTls {
  None = 0,
  /** A datagram that starts with a QUIC long-header packet: Initial, 0-RTT, Handshake or Retry. */
  QuicHandshake = 1,
  /** A datagram that starts with a DTLS record. */
  Dtls = 2,
}

/** The largest connection ID QUIC versions 1 and 2 allow (RFC 9000 §17.2). */
const MAX_QUIC_CONNECTION_ID = 20;
const QUIC_V1 = 0x00000001; // RFC 9000
const QUIC_V2 = 0x6b3343cf; // RFC 9369 §3.1

/**
 * What a UDP payload bytes[start, end) carries. Only the handshake's long headers are
 * recognisable without following the connection: a short-header packet (RFC 9000 §17.3) has no
 * version field, just a connection ID of a length only the endpoints know.
 */
export function classifyUdpPayload(bytes: Uint8Array, start: number, end: number): UdpTls {
  const n = end - start;
  if (n < 7) return UdpTls.None;
  const first = bytes[start]!;
  // Long header (RFC 8999 §5.1, RFC 9000 §17.2): header form 1 and fixed bit 1 (RTP, which also
  // starts with bit 7 set, has 0 there), a known version, then the two connection IDs with
  // their lengths, which must fit in the datagram.
  if ((first & 0xc0) === 0xc0) {
    const version = ((bytes[start + 1]! << 24) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 8) | bytes[start + 4]!) >>> 0;
    if (version === QUIC_V1 || version === QUIC_V2 || version >>> 8 === 0xff0000 /* IETF drafts */) {
      const destinationLength = bytes[start + 5]!;
      if (destinationLength <= MAX_QUIC_CONNECTION_ID && n >= 7 + destinationLength) {
        const sourceLength = bytes[start + 6 + destinationLength]!;
        if (sourceLength <= MAX_QUIC_CONNECTION_ID && n >= 7 + destinationLength + sourceLength) return UdpTls.QuicHandshake;
      }
    }
  }
  // DTLS record (RFC 6347 §4.1; DTLS 1.3's handshake records keep this form, RFC 9147 §4): content
  // type 20-23, version {254, 255} (DTLS 1.0) or {254, 253} (1.2), epoch, sequence number, and a
  // length that fits.
  if (n >= 13 && first >= 20 && first <= 23 && bytes[start + 1] === 254 && (bytes[start + 2] === 255 || bytes[start + 2] === 253)) {
    const recordLength = (bytes[start + 11]! << 8) | bytes[start + 12]!;
    if (13 + recordLength <= n) return UdpTls.Dtls;
  }
  return UdpTls.None;
}
