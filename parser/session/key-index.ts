// A string → row map for a million session keys, in typed arrays. As a Map each key is a
// heap string (~56 bytes for a packed 32-byte session ID) plus a ~30-byte table entry, all
// traced by every garbage collection; here a key is its characters in a byte arena and
// three Int32 slots (open addressing, linear probing, load ≤ 3/4): ~60 bytes, off the heap.

import { stringOfCodes } from '../tls/hello.js';

const EMPTY = -1;
// Arena blocks: a key never straddles two (keys are at most a few hundred KB: a PSK identity
// is < 2^16 bytes, RFC 8446 §4.2.11, hence < 2^18 bytes as hex text in two bytes per character).
const BLOCK_BITS = 20;
const BLOCK_SIZE = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK_SIZE - 1;
/** Header of a stored key: a 4-byte length in characters, with the top bit set when each character takes two bytes. */
const HEADER = 4;
const WIDE = 0x80000000;

export class SessionKeyIndex {
  private keyRefs = new Int32Array(1024).fill(EMPTY);
  private values = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  private readonly blocks: Uint8Array[] = [];
  /**
   * Each index hashes its own way (nothing it gives out depends on where its keys sit): keys listed
   * by one index in its slot order, or chosen to collide (a crafted capture's session IDs), do not
   * pile up in another's runs of linear probing. A state file written by versions that listed keys
   * in slot order took 17 s to read a million keys back; with its own seed, 1.4 s.
   */
  private readonly seed = (Math.random() * 0x100000000) | 0;
  /** Where the keys of each full block end (a key that did not fit went to the next block). */
  private readonly blockEnds: number[] = [];
  private used = 0;
  /** Distinct keys. */
  size = 0;

  /** Bytes the stored keys take (a 4-byte header and 1 or 2 bytes a character each; block ends unused not counted). */
  get storedBytes(): number {
    return this.stored;
  }
  private stored = 0;

  /** The value stored for `key`, or -1 when there is none (`has` tells the two apart if -1 is stored). */
  get(key: string): number {
    const slot = this.find(key, hashOf(key, this.seed));
    return this.keyRefs[slot] === EMPTY ? EMPTY : this.values[slot]!;
  }

  has(key: string): boolean {
    return this.keyRefs[this.find(key, hashOf(key, this.seed))] !== EMPTY;
  }

  set(key: string, value: number): void {
    const hash = hashOf(key, this.seed);
    let slot = this.find(key, hash);
    if (this.keyRefs[slot] !== EMPTY) {
      this.values[slot] = value;
      return;
    }
    if ((this.size + 1) * 4 > this.keyRefs.length * 3) {
      this.grow();
      slot = this.find(key, hash);
    }
    this.keyRefs[slot] = this.store(key);
    this.values[slot] = value;
    this.hashes[slot] = hash;
    this.size++;
  }

  /** Visits every value, without making its key's text (in no particular order). */
  forEachValue(visit: (value: number) => void): void {
    for (let slot = 0; slot < this.keyRefs.length; slot++) {
      if (this.keyRefs[slot]! !== EMPTY) visit(this.values[slot]!);
    }
  }

  /**
   * Calls `visit` with every key and its value, in the order the keys were first set: the arena's
   * order, which has nothing to do with their hashes. In slot order (the hashes' low bits, in
   * order), another index filled from the visit (a state file's keys read back) probed linearly
   * through ever longer runs whenever it was smaller than this one: a million keys took 17 s.
   */
  forEach(visit: (key: string, value: number) => void): void {
    for (let b = 0; b < this.blocks.length; b++) {
      const block = this.blocks[b]!;
      const end = b < this.blockEnds.length ? this.blockEnds[b]! : this.used - b * BLOCK_SIZE;
      for (let at = 0; at < end;) {
        const header = headerAt(block, at);
        const key = this.keyAt(b * BLOCK_SIZE + at);
        visit(key, this.values[this.find(key, hashOf(key, this.seed))]!);
        at += HEADER + ((header & ~WIDE) >>> 0) * ((header & WIDE) !== 0 ? 2 : 1);
      }
    }
  }

  /** The key stored at arena offset `ref` (see store). */
  private keyAt(ref: number): string {
    const block = this.blocks[ref >>> BLOCK_BITS]!;
    let at = ref & BLOCK_MASK;
    const header = headerAt(block, at);
    at += HEADER;
    const wide = (header & WIDE) !== 0;
    const length = (header & ~WIDE) >>> 0;
    // From an array of codes in one call: a character appended at a time makes a chain of
    // concatenations, 32 bytes a character until flattened (a ticket's key: ~5 KB).
    const codes = keyCodes;
    codes.length = length;
    for (let i = 0; i < length; i++) codes[i] = wide ? (block[at++]! << 8) | block[at++]! : block[at++]!;
    return stringOfCodes(codes);
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  private find(key: string, hash: number): number {
    const mask = this.keyRefs.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const ref = this.keyRefs[slot]!;
      if (ref === EMPTY || (this.hashes[slot] === hash && this.equals(ref, key))) return slot;
    }
  }

  private grow(): void {
    const oldRefs = this.keyRefs, oldValues = this.values, oldHashes = this.hashes;
    const capacity = oldRefs.length * 2;
    this.keyRefs = new Int32Array(capacity).fill(EMPTY);
    this.values = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < oldRefs.length; i++) {
      const ref = oldRefs[i]!;
      if (ref === EMPTY) continue;
      let slot = oldHashes[i]! & mask;
      while (this.keyRefs[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.keyRefs[slot] = ref;
      this.values[slot] = oldValues[i]!;
      this.hashes[slot] = oldHashes[i]!;
    }
  }

  private store(key: string): number {
    const wide = !isNarrow(key);
    const need = HEADER + key.length * (wide ? 2 : 1);
    if (need > BLOCK_SIZE) throw new RangeError(`session key of ${key.length} characters`);
    if (this.used === this.blocks.length * BLOCK_SIZE || (this.used & BLOCK_MASK) + need > BLOCK_SIZE) {
      if (this.blocks.length > 0) this.blockEnds.push(this.used - (this.blocks.length - 1) * BLOCK_SIZE);
      this.used = this.blocks.length * BLOCK_SIZE;
      this.blocks.push(new Uint8Array(BLOCK_SIZE));
    }
    const ref = this.used;
    const block = this.blocks[ref >>> BLOCK_BITS]!;
    let at = ref & BLOCK_MASK;
    const header = (key.length | (wide ? WIDE : 0)) >>> 0;
    block[at++] = header >>> 24;
    block[at++] = (header >>> 16) & 0xff;
    block[at++] = (header >>> 8) & 0xff;
    block[at++] = header & 0xff;
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      if (wide) block[at++] = code >>> 8;
      block[at++] = code & 0xff;
    }
    this.used += need;
    this.stored += need;
    return ref;
  }

  private equals(ref: number, key: string): boolean {
    const block = this.blocks[ref >>> BLOCK_BITS]!;
    let at = ref & BLOCK_MASK;
    const header = headerAt(block, at);
    at += HEADER;
    const wide = (header & WIDE) !== 0;
    if ((header & ~WIDE) >>> 0 !== key.length) return false;
    for (let i = 0; i < key.length; i++) {
      const code = wide ? (block[at++]! << 8) | block[at++]! : block[at++]!;
      if (code !== key.charCodeAt(i)) return false;
    }
    return true;
  }
}

/** A stored key's header at `at`: its length in characters, the top bit set when each takes two bytes. */
function headerAt(block: Uint8Array, at: number): number {
  return ((block[at]! << 24) | (block[at + 1]! << 16) | (block[at + 2]! << 8) | block[at + 3]!) >>> 0;
}

/** keyAt's buffer of character codes, reused. */
const keyCodes: number[] = [];

function isNarrow(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

/** FNV-1a from a seeded offset basis over the UTF-16 code units (a key's stored form does not change its hash). */
function hashOf(key: string, seed: number): number {
  let h = FNV_OFFSET ^ seed;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return mixed(h);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Mixes the high bits into the low ones: the table masks the low bits, and FNV's low bits alone are weak. */
function mixed(h: number): number {
  return (h ^ (h >>> 15)) | 0;
}
