/**
 * Tuples of FIELDS pool indices, each distinct tuple kept once and named by its index. What a
 * connection shares with many others (server address, SNI, ALPN, version, cipher, hello version,
 * history, TLS stack, file) is one such tuple: a farm capture holds a few thousand distinct ones
 * over millions of connections, so a row keeps one index where it kept nine (32 bytes less a row;
 * 64 MB of the 2-million-connection run). Open addressing over typed arrays, no object per tuple.
 */
export class ProfileTable {
  static readonly FIELDS = 9;
  private fields = new Int32Array(64 * ProfileTable.FIELDS);
  /** Slots: profile index + 1, 0 when empty. */
  private slots = new Int32Array(128);
  count = 0;

  /** The index of the tuple `values[0..FIELDS)`, added when new. */
  intern(values: Int32Array): number {
    const n = ProfileTable.FIELDS;
    const mask = this.slots.length - 1;
    for (let slot = hashOf(values) & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot]!;
      if (held === 0) break;
      if (this.holds(held - 1, values)) return held - 1;
    }
    const profile = this.count++;
    if (profile * n + n > this.fields.length) {
      const grown = new Int32Array(this.fields.length * 2);
      grown.set(this.fields);
      this.fields = grown;
    }
    this.fields.set(values.subarray(0, n), profile * n);
    // At most half full: probes stay short.
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(profile);
    return profile;
  }

  /** Field `k` (a pool index) of a profile. */
  field(profile: number, k: number): number {
    return this.fields[profile * ProfileTable.FIELDS + k]!;
  }

  /** The tuples in index order, FIELDS each (for moving them to another thread). */
  export(): Int32Array {
    return this.fields.subarray(0, this.count * ProfileTable.FIELDS);
  }

  get byteLength(): number {
    return this.fields.byteLength + this.slots.byteLength;
  }

  private holds(profile: number, values: Int32Array): boolean {
    const at = profile * ProfileTable.FIELDS;
    for (let k = 0; k < ProfileTable.FIELDS; k++) if (this.fields[at + k] !== values[k]) return false;
    return true;
  }

  private place(profile: number): void {
    const mask = this.slots.length - 1;
    let slot = hashOf(this.fields.subarray(profile * ProfileTable.FIELDS)) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = profile + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let p = 0; p < this.count; p++) this.place(p);
  }
}

/** FNV-1a over the tuple's FIELDS ints (pool indices are small and dense: their bits need mixing). */
function hashOf(values: Int32Array): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < ProfileTable.FIELDS; k++) {
    h = Math.imul(h ^ (values[k]! & 0xffff), 0x01000193);
    h = Math.imul(h ^ (values[k]! >>> 16), 0x01000193);
  }
  return (h ^ (h >>> 15)) >>> 0;
}
