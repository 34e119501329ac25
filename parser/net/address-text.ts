// IP addresses in text (a PROXY v1 header's, a --pcapng-filter's server=) → their bytes, which
// formatAddress (decode-packet.ts) writes back as records do.

/** Dotted IPv4 text (four parts 0–255) → 4 bytes. */
export function ipv4Bytes(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts, Number);
}

/** RFC 4291 §2.2 text form (with one "::" at most, an IPv4 tail allowed: form 3) → 16 bytes. */
export function ipv6Bytes(text: string): Uint8Array | null {
  // A dotted IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const tail4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail4) {
    const v4 = ipv4Bytes(tail4[2]!);
    if (v4 === null) return null;
    text = `${tail4[1]}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const value = parseInt(g, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}
