// Several capture files in one analysis: which are read merged by packet time, in what order, and
// the loop that interleaves their frames. Shared by the CLI (files through Node) and the app (files
// and URLs through web streams); each side only supplies how a file's chunks are read.

import { Analysis, type CaptureIngest, type FileReading } from './analysis.js';
import type { CaptureSummary, ConnectionRecord } from './report/types.js';
import { CLIENT_RANDOM_HASH } from './report/types.js';
import type { TimeOrderedIngest } from './capture/held-frames.js';
import { CLOCK_DRIFT_CODE, driftCorrection, estimateOffset, handshakeTimes, offsetBounds, shiftWithin, type ClockDrift, type ClockOffset, type HandshakeTimes } from './clock-offset.js';

export type { TimeOrderedIngest };

/** How much of each file is read ahead to order and group the files. */
export const PROBE_BYTES = 1 << 20;

/** What a file's first megabyte tells: its first packet's time, and the TLS connections in it. */
export interface HeadProbe {
  firstTime: number;
  /** Each TLS connection's two endpoints, in either order ("a|port b|port", the lesser first). */
  connections: Set<string>;
  /** Most of its TLS connections show one direction only (see ONE_SIDED_SHARE): a file per direction of a tap. */
  oneSided?: boolean;
  /** The capture's name (what a clock offset names it by). */
  name?: string;
  /** Its connections' TCP handshakes (bounds a clock offset against another file's). */
  handshakes?: Map<string, HandshakeTimes>;
  /** A shift already estimated (by the host that serves the file to the app): taken as it is. */
  clockOffset?: ClockOffset;
  /** The reading group the host that serves the file planned it in: its clocks are settled within it. */
  hostGroup?: number;
}

/** A file whose head could not be read (a stream, a damaged file): read on its own, last. */
export const UNKNOWN_HEAD: HeadProbe = { firstTime: Infinity, connections: new Set() };

/** A head whose TLS connections are at least this share one-way (and at least MIN_ONE_SIDED of them) is one-sided. */
const ONE_SIDED_SHARE = 0.5;
const MIN_ONE_SIDED = 3;

/**
 * Reads the (decompressed) first bytes of a capture as a throwaway analysis. A head that is no
 * capture, or that the analysis fails on, tells nothing: the file is read on its own, where its
 * real reading reports what is wrong with it.
 */
export function probeHead(head: Uint8Array, name: string): HeadProbe {
  const connections = new Set<string>();
  let oneWay = 0;
  const probe = new Analysis((c) => {
    connections.add(endpointPair(c));
    if (c.anomalies.some((a) => a.code === 'one-way')) oneWay++;
  });
  const ingest = probe.openFile(name);
  try {
    ingest.push(head);
  } catch {
    return UNKNOWN_HEAD;
  }
  const firstTime = ingest.summary.firstTime ?? Infinity;
  try {
    probe.finish();
  } catch {
    // Which connections it holds only decides which files are merged: without them it is read alone.
    return { firstTime, connections: new Set() };
  }
  return { firstTime, connections, oneSided: oneWay >= MIN_ONE_SIDED && oneWay >= ONE_SIDED_SHARE * connections.size, name, handshakes: handshakeTimes(head, name) };
}

/**
 * Files probed at once: each probe holds a megabyte or two (a gzip file's decompressor and output
 * too), and a day of rotated captures is a thousand files or more (all at once, a thousand gzip
 * files took 5.2 GB to probe).
 */
export const PROBES_AT_ONCE = 4;

/** `probe` of each item, at most `atOnce` running at a time; results in the items' order. */
export async function probeAll<T>(items: readonly T[], probe: (item: T) => Promise<HeadProbe>, atOnce = PROBES_AT_ONCE): Promise<HeadProbe[]> {
  const probes: HeadProbe[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      probes[i] = await probe(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, lane));
  return probes;
}

/** The two endpoints of a connection in a fixed order, whichever file or direction showed it. */
export function endpointPair(c: Pick<ConnectionRecord, 'client' | 'server'>): string {
  const a = `${c.client.ip}|${c.client.port}`;
  const b = `${c.server.ip}|${c.server.port}`;
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

export interface PlannedFile extends FileReading {
  /** The file's place among the inputs. */
  index: number;
  /** Its first packet's time (on the group's clock: clockOffset added). */
  firstTime: number;
  /** Files of one group hold the same connections and are read merged by time. */
  group: number;
}

/**
 * The files in the order they are read: files that hold the same connections (in their first
 * megabytes) are one group, read merged by time; so are all files whose first megabytes show one
 * direction only (a file per direction of a tap where one direction was rotated into parts: the
 * later parts share no connection with the other direction's first megabyte, and read apart, a
 * 52 MB farm's 3,258 connections came out as 4,110, 1,323 of them "aborted").
 * Groups are read one after another, each from its first packet's time, and so are a group's files
 * ordered. `alsoTogether`: pairs of files (indexes) to read merged whatever their heads show (see
 * sharedPastHeads). Files that share no connection gain nothing
 * from a merge (records and diagnosis are the same) and cost a copy of every frame held back:
 * the bench's four simulated farms of the same 21 minutes, read merged, took 0.4–1.3 s longer to read.
 */
export function planReading(probes: readonly HeadProbe[], alsoTogether: readonly ReadTogether[] = []): PlannedFile[] {
  const group = probes.map((_, i) => i);
  const root = (i: number): number => (group[i] === i ? i : (group[i] = root(group[i]!)));
  // Files found to share connections past their first megabytes (sharedPastHeads), read again.
  for (const { files: [a, b] } of alsoTogether) group[root(a)] = root(b);
  const holder = new Map<string, number>();
  let oneSided = -1;
  probes.forEach((probe, i) => {
    if (probe.oneSided) {
      if (oneSided < 0) oneSided = i;
      else group[root(i)] = root(oneSided);
    }
    for (const pair of probe.connections) {
      const j = holder.get(pair);
      if (j === undefined) holder.set(pair, i);
      else group[root(i)] = root(j);
    }
  });
  const files: PlannedFile[] = probes.map((probe, index) => ({ index, firstTime: probe.firstTime, group: root(index) }));
  for (const { drift } of alsoTogether) {
    if (drift === undefined) continue;
    const { file, ...clockDrift } = drift;
    files[file]!.clockDrift = clockDrift;
    files[file]!.firstTime += driftCorrection(files[file]!.firstTime, clockDrift);
  }
  const members = new Map<number, PlannedFile[]>();
  for (const x of files) members.set(x.group, [...(members.get(x.group) ?? []), x]);
  for (const group of members.values()) {
    if (group.length < 2) continue;
    const local = new Map(group.map((x, i) => [x.index, i]));
    const links = alsoTogether.filter((t) => local.has(t.files[0]) && local.has(t.files[1]))
      .map((t) => ({ ...t, files: [local.get(t.files[0])!, local.get(t.files[1])!] as const }));
    const { offsets, bounded } = clockOffsets(group.map((x) => probes[x.index]!), links);
    group.forEach((x, i) => {
      // Files read merged may hold the same packets: overlapping captures found after a reading,
      // two hosts capturing the same hour, each host's capture split by direction (review: copies
      // were dropped only where a file was linked to another, or where two files showed both
      // directions, and four direction files of two hosts counted 8,397 packets twice). Looking
      // costs ~40 ns a packet (files of one direction each never hold the same packet).
      x.dropCopies = true;
      // Clocks the heads did not all bound are checked over the whole files (clocksApart).
      if (!bounded) x.sampleHandshakes = true;
      const offset = offsets[i];
      if (offset === undefined || offset.seconds === 0) return;
      x.clockOffset = offset;
      x.firstTime += offset.seconds;
    });
  }
  const groupStart = new Map<number, number>();
  for (const x of files) groupStart.set(x.group, Math.min(groupStart.get(x.group) ?? Infinity, x.firstTime));
  return files.sort((a, b) => groupStart.get(a.group)! - groupStart.get(b.group)! || a.group - b.group || a.firstTime - b.firstTime || a.index - b.index);
}

/**
 * The clock shift of each file of a group (see clock-offset.ts), against the first file given whose
 * handshakes bound another's: files bounded by it, or by a file bounded before them, are brought
 * to its clock. Files that share no handshake but were found to hold the same packets (`links`:
 * overlapping captures read again, see sharedPastHeads) are brought onto one clock by the
 * difference of those packets' times, each set of files bounded by handshakes moved as one. A
 * file whose first megabyte shares no handshake with any of them (a direction rotated into parts:
 * its later parts) takes the shift of the latest file before it that holds the same side of the
 * connections (SYNs, or SYN-ACKs): the earlier part of the same rotation, on the same capture
 * host's clock. Undefined: no shift.
 */
function clockOffsets(probes: readonly HeadProbe[], links: readonly ReadTogether[] = []): { offsets: (ClockOffset | undefined)[]; bounded: boolean } {
  const offsets: (ClockOffset | undefined)[] = probes.map((p) => p.clockOffset);
  // Shifts the host estimated (hostedReading) are its files' plan; links found after a reading
  // move them further (the host probes heads only, and whether they bound every file is not known here).
  if (offsets.some((o) => o !== undefined) || probes.some((p) => p.hostGroup !== undefined)) {
    const shift = new Map<number, number>();
    offsets.forEach((o, i) => shift.set(i, o?.seconds ?? 0));
    // A host's group is on one clock (its shifts applied): a link moves all of it. (Review: moved
    // file by file, the other direction of a linked file stayed 3 s off, and the page counted
    // 1,959 connections for 1,196.)
    const clockOf = probes.map((p, i) => (p.hostGroup === undefined ? i : probes.findIndex((q) => q.hostGroup === p.hostGroup)));
    joinLinkedClocks(probes, links, clockOf, shift, offsets);
    return { offsets, bounded: false };
  }
  const order = probes.map((_, i) => i).sort((a, b) => probes[a]!.firstTime - probes[b]!.firstTime || a - b);
  const shift = new Map<number, number>();
  const neighbours = sharingHandshakes(probes.map((p) => p.handshakes));
  // The set of files bounded by one another each file is in (its reference's index).
  const clockOf = probes.map((_, i) => i);
  // Each set of files bounded by one another has its own reference clock: its first file given
  // (a second link's files, split by direction too, are brought to their own, not to the first's).
  for (let start = 0; start < probes.length; start++) {
    const reference = probes[start]!;
    if (shift.has(start) || neighbours[start]!.size === 0) continue;
    // Breadth first from `start`: each file bounded by one already placed. What is known of a
    // file's shift is an interval, added up along the way: a file two steps away is moved only
    // when 0 is outside it (review: each part of a rotated client direction, bounded through the
    // server's file, took that file's estimate's error, "0ms behind" the first part's clock).
    shift.set(start, 0);
    const within = new Map<number, [number, number]>([[start, [0, 0]]]);
    const placed = [start];
    for (let k = 0; k < placed.length; k++) {
      const [low, high] = within.get(placed[k]!)!;
      const known = probes[placed[k]!]!.handshakes!;
      for (const i of order) {
        const handshakes = probes[i]!.handshakes;
        if (shift.has(i) || handshakes === undefined || !neighbours[placed[k]!]!.has(i)) continue;
        const estimate = offsetBounds(known, handshakes);
        if (estimate === null) continue;
        within.set(i, [low + estimate.low, high + estimate.high]);
        const seconds = shiftWithin(low + estimate.low, high + estimate.high);
        shift.set(i, seconds);
        clockOf[i] = start;
        placed.push(i);
        offsets[i] = { seconds, against: reference.name ?? `file ${start + 1}`, handshakes: estimate.handshakes };
      }
    }
    if (placed.length === 1) shift.delete(start);
  }
  // Every file bounded by one another from the first's clock: the heads settle the group's clocks.
  const bounded = probes.every((_, i) => shift.has(i) && clockOf[i] === clockOf[0]);
  joinLinkedClocks(probes, links, clockOf, shift, offsets);
  // Files no handshake bounds: the shift of the same side's latest earlier file.
  for (const i of order) {
    if (shift.has(i)) continue;
    const side = sideOf(probes[i]!);
    if (side === null) continue;
    let source = -1;
    for (const j of order) {
      if (j === i) break;
      if (shift.has(j) && sideOf(probes[j]!) === side) source = j;
    }
    if (source < 0) continue;
    shift.set(i, shift.get(source)!);
    const like = offsets[source];
    if (like !== undefined) offsets[i] = { seconds: like.seconds, against: like.against, handshakes: 0, like: probes[source]!.name ?? `file ${source + 1}` };
  }
  return { offsets, bounded };
}

/**
 * Brings the clocks that `links` join onto one: each link says how far its second file's clock
 * reads ahead of its first's (the same packets, times as the files hold them). Breadth first from
 * the clock of the first file given, each clock reached (`clockOf`: the reference each file's shift
 * is relative to; none in `shift`: 0) moves all its files by the same amount. `shift` and `offsets`
 * are updated for the files moved.
 */
function joinLinkedClocks(probes: readonly HeadProbe[], links: readonly ReadTogether[], clockOf: readonly number[], shift: Map<number, number>, offsets: (ClockOffset | undefined)[]): void {
  if (links.length === 0) return;
  const moved = new Map<number, { by: number; against: number; link?: ReadTogether }>();
  const clocks = [...new Set(clockOf)].sort((a, b) => a - b);
  for (const root of clocks) {
    if (moved.has(root)) continue;
    moved.set(root, { by: 0, against: root });
    const queue = [root];
    for (let k = 0; k < queue.length; k++) {
      const here = queue[k]!;
      const by = moved.get(here)!.by;
      for (const link of links) {
        const [a, b] = link.files;
        const ca = clockOf[a]!;
        const cb = clockOf[b]!;
        if (ca === cb) continue;
        // Same packets: time in b + shift(b) = time in a + shift(a), times in b being `ahead` later.
        const delta = (shift.get(a) ?? 0) - (shift.get(b) ?? 0) - link.ahead;
        if (ca === here && !moved.has(cb)) {
          moved.set(cb, { by: by + delta, against: root, link });
          queue.push(cb);
        } else if (cb === here && !moved.has(ca)) {
          moved.set(ca, { by: by - delta, against: root, link });
          queue.push(ca);
        }
      }
    }
  }
  probes.forEach((_, i) => {
    const m = moved.get(clockOf[i]!)!;
    // Differences below the capture clocks' resolution are no shift (a capture restarted on one host).
    if (m.against === clockOf[i] || Math.abs(m.by) < SAME_CLOCK) return;
    const seconds = (shift.get(i) ?? 0) + m.by;
    shift.set(i, seconds);
    const reference = offsets[m.against]?.against ?? probes[m.against]!.name ?? `file ${m.against + 1}`;
    const link = m.link!;
    offsets[i] = link.connections !== undefined
      ? { seconds, against: reference, handshakes: 0, connections: link.connections }
      : { seconds, against: reference, handshakes: link.handshakes ?? 0 };
  });
}

/**
 * For each file, the files that share a handshake with it (by key): only those are compared.
 * Compared all with all, 1,000 one-direction files that share none took 22 s to plan (review).
 */
function sharingHandshakes(samples: readonly (ReadonlyMap<string, HandshakeTimes> | undefined)[]): Set<number>[] {
  const holders = new Map<string, number[]>();
  samples.forEach((sample, i) => {
    for (const key of sample?.keys() ?? []) {
      const list = holders.get(key);
      if (list === undefined) holders.set(key, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  const neighbours = samples.map(() => new Set<number>());
  for (const list of holders.values()) {
    for (const i of list) for (const j of list) if (i !== j) neighbours[i]!.add(j);
  }
  return neighbours;
}

/** Clocks whose difference over the packets two files share is below this (0.1 ms) are taken as one. */
const SAME_CLOCK = 1e-4;

/** Which side of its connections' handshakes a file shows: SYNs only (client), SYN-ACKs only (server), or both (null). */
function sideOf(probe: HeadProbe): 'client' | 'server' | null {
  let syns = 0;
  let synAcks = 0;
  for (const t of probe.handshakes?.values() ?? []) {
    const syn = !Number.isNaN(t.syn);
    const synAck = !Number.isNaN(t.synAck);
    if (syn && !synAck) syns++;
    else if (synAck && !syn) synAcks++;
  }
  if (syns >= MIN_ONE_SIDED && syns > 2 * synAcks) return 'client';
  if (synAcks >= MIN_ONE_SIDED && synAcks > 2 * syns) return 'server';
  return null;
}

/** Connections two files read apart must share (in the sample) before they are read again merged. */
const MIN_SHARED_PAST_HEADS = 3;
/** About how many connections sharedPastHeads looks at (a sample by their ClientHello randoms). */
const SHARED_SAMPLE = 8192;
/**
 * The same packets on two clocks are this close (seconds) once the clocks' difference is taken
 * away: two hosts stamp one packet apart by the path and their interrupts (microseconds to a
 * millisecond). Clocks that drift apart spread them further: only the part of the overlap within
 * this spread is counted then (and `ahead` is its middle's).
 */
const SAME_PACKET_SPREAD = 2e-3;
/**
 * Of the connections two files both hold, the share whose time differences must fall in the
 * densest spread. A connection is known by its ClientHello's random and endpoints, so two
 * connections are taken for one by chance only (one in 2^32); the share guards what remains: a
 * client that sent one ClientHello on two connections (replayed), or a file read twice on purpose
 * with a part of it cut. (With endpoints alone, before the random was kept, two NAT farms of 300
 * clients per address had read as overlapping: 656,950 connections and 127,214 "unexplained"
 * refusals; a client reconnecting from one port every 59 s lined up with itself.)
 */
const SHARE_LINED_UP = 0.5;
/**
 * Clocks that drift apart (unsynchronised hosts: 20–50 ppm, 70–180 ms over an hour) spread the
 * same packets' differences past SAME_PACKET_SPREAD: where the differences of many connections line
 * up within this much (seconds) but not within SAME_PACKET_SPREAD, the files are said to be
 * such captures (not read again: one shift would not bring them onto one clock).
 */
const DRIFT_SPREAD = 1;
/** Connections that must line up within DRIFT_SPREAD before two files are said to drift apart. */
const MIN_DRIFTING = 10;
/**
 * The fastest rate between two clocks corrected (seconds per second): quartz is off by 20–50 ppm,
 * a clock slewed by NTP by up to 500 ppm; a steeper line is no clock's rate.
 */
const MAX_DRIFT_RATE = 1e-3;

/**
 * Two files a first reading found to be read again: captures that overlap (sharedPastHeads:
 * `connections`), or files read merged on clocks apart (clocksApart: `handshakes`).
 */
export interface SharedConnections {
  /** Their capture names. */
  files: [string, string];
  /** Overlapping captures: connections both hold (of those sampled). */
  connections?: number;
  /** Clocks apart: the TCP handshakes split between the two files that show it. */
  handshakes?: number;
  /** Seconds the second file's times are ahead of the first's for the same packets, as read (0: one clock). */
  ahead: number;
  /**
   * Overlapping captures whose clocks drift apart: the same packets' differences spread over
   * this many seconds. Without `rate`, `ahead` is their middle, and they are said, not read again
   * (no one shift fits): their connections count twice.
   */
  drift?: number;
  /**
   * The differences lie on a line: the second file's clock runs this much faster (seconds per
   * second), and `ahead` is the difference at `at` (the first file's time). Read again with the
   * second file's times corrected for the rate (ClockDrift), where both were read alone.
   */
  rate?: number;
  at?: number;
  /** With `rate`: the middle of the differences (`ahead` is the line's at `at`). */
  middle?: number;
}

/** Two files (input indexes) to read merged whatever their heads show, on one clock (see SharedConnections). */
export interface ReadTogether {
  files: readonly [number, number];
  /** Seconds the second file's clock reads ahead of the first's (the same packets' times as the files hold them). */
  ahead: number;
  /** Overlapping captures: connections both hold, which `ahead` rests on (the packets both hold are analysed once). */
  connections?: number;
  /** Handshakes split between the two, which `ahead` rests on. */
  handshakes?: number;
  /** Clocks that run at two rates: one file's (its index) brought onto the other's rate first; `ahead` then holds throughout. */
  drift?: ClockDrift & { file: number };
}

/**
 * Files that were read apart (their first megabytes shared no connection and were not one-sided)
 * but hold the same connections further on: two captures of one link that overlap in time (one
 * host's capture started before another's ended, a capture restarted while the old one ran, two
 * hosts capturing the same hour).
 * Read one after the other, such a connection is counted once per file: two captures of a
 * simulated farm overlapping by 40 % gave 1,673 connections for 1,196, a made-up cache flush
 * and 6 refusals "fit no inferred cause", without a word. The captures may be on two clocks (two
 * hosts), however far apart (a host that wrote local time for UTC is hours off): a connection
 * both hold is the same ClientHello random (RFC 8446 §4.1.2) with the same endpoints, and its
 * ClientHellos' times differ by the clocks' difference, the same for all of them. So the
 * differences of every pair of files are gathered and the densest few milliseconds of them taken,
 * if they hold at least half the connections the two files both hold (SHARE_LINED_UP): how many,
 * and where (`ahead`). A sample of the connections (by their randoms) is looked at, so the check
 * costs one pass over the records. `groupOf`: the reading group of a capture (by name). Files of
 * one group were read merged, each packet once where the copies lined up within milliseconds:
 * a connection both still hold is one whose copies did not, on clocks that run at two rates
 * (review: two hosts capturing the same hour, one 50 ppm fast, whose first megabytes lined up,
 * gave every connection twice without a word); only such drift is looked for there.
 */
export function sharedPastHeads(records: readonly ConnectionRecord[], captures: readonly CaptureSummary[], groupOf: (file: string) => number): SharedConnections[] {
  if (captures.filter((c) => c.firstTime !== null && c.error === undefined).length < 2) return [];
  // Overlapping captures of one link share most connections of the overlap: a sample of them
  // finds them as well, at a bounded cost (four captures of the same 21 minutes that share
  // nothing, 137,539 connections: 345 ms all looked at). The random is the same in both files,
  // so both keep a connection or neither does.
  const every = Math.max(1, Math.floor(records.length / SHARED_SAMPLE));
  const seen = new Map<string, { file: string; time: number }[]>();
  for (const r of records) {
    const time = r.clientHelloTime;
    const random = r[CLIENT_RANDOM_HASH] ?? 0;
    if (time === null || random === 0 || random % every !== 0) continue;
    const key = `${random} ${r.client.ip}|${r.client.port} ${r.server.ip}|${r.server.port}`;
    const list = seen.get(key);
    const entry = { file: r.file, time };
    if (list === undefined) seen.set(key, [entry]);
    else list.push(entry);
  }
  // Per pair of files (in name order), the time differences of their connections held by both,
  // and which connections (a number each).
  const pairs = new Map<string, { files: [string, string]; sameGroup: boolean; differences: number[]; times: number[]; endpoints: number[] }>();
  let endpoint = 0;
  for (const list of seen.values()) {
    endpoint++;
    if (list.length < 2) continue;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        let a = list[i]!;
        let b = list[j]!;
        if (a.file === b.file) continue;
        if (b.file < a.file) [a, b] = [b, a];
        const name = `${a.file}\n${b.file}`;
        const pair = pairs.get(name) ?? { files: [a.file, b.file], sameGroup: groupOf(a.file) === groupOf(b.file), differences: [], times: [], endpoints: [] };
        pair.differences.push(b.time - a.time);
        pair.times.push(a.time);
        pair.endpoints.push(endpoint);
        pairs.set(name, pair);
      }
    }
  }
  const found: SharedConnections[] = [];
  for (const { files, sameGroup, differences, times, endpoints } of pairs.values()) {
    const cluster = densestSpread(differences, SAME_PACKET_SPREAD, endpoints);
    const candidates = new Set(endpoints).size;
    if (cluster.endpoints >= MIN_SHARED_PAST_HEADS && cluster.endpoints >= SHARE_LINED_UP * candidates) {
      // Files read merged already hold a connection once where the copies lined up.
      if (!sameGroup) found.push({ files, connections: cluster.endpoints, ahead: cluster.median });
      continue;
    }
    // Two clocks at two rates: the differences grow along a line through the overlap, however far
    // it spreads them (review: 500 ppm over 1.6 hours spread them over 2.9 s, and a window of 1 s
    // found neither the line nor the drift).
    const line = driftLine(times, differences, endpoints);
    if (line !== null && line.endpoints >= MIN_DRIFTING && line.endpoints >= SHARE_LINED_UP * candidates) {
      const spread = line.high - line.low;
      if (Math.abs(line.rate) <= MAX_DRIFT_RATE) found.push({ files, connections: line.endpoints, ahead: line.ahead, drift: spread, rate: line.rate, at: line.at, middle: line.low + spread / 2 });
      else found.push({ files, connections: line.endpoints, ahead: line.low + spread / 2, drift: spread });
      continue;
    }
    const wide = densestSpread(differences, DRIFT_SPREAD, endpoints);
    if (wide.endpoints >= MIN_DRIFTING && wide.endpoints >= SHARE_LINED_UP * candidates) {
      found.push({ files, connections: wide.endpoints, ahead: wide.low + wide.spread / 2, drift: wide.spread });
    }
  }
  return found;
}

/**
 * What a first reading of several files (planned as `plan`; `names` the captures' names by input
 * index, `samples` their handshakes over the whole files) found to read again: overlapping captures
 * (sharedPastHeads) and files read merged on clocks apart (clocksApart), in `again`; `drifting`:
 * overlapping captures on clocks drifting apart that are not read again, to be said (sayDrifting).
 * Clocks at two rates are corrected where the two files were read alone (or merged with each other
 * only) and overlap no other (a file split by direction, or linked to a third, would need its
 * partners brought to the rate too). The CLI and the app's worker ask the same.
 */
export function toReadAgain(records: readonly ConnectionRecord[], captures: readonly CaptureSummary[], plan: readonly PlannedFile[], samples: readonly (ReadonlyMap<string, HandshakeTimes> | null | undefined)[], names: readonly string[]): { again: SharedConnections[]; drifting: SharedConnections[] } {
  // Without a plan (each file analysed apart, --jobs) each file is its own group.
  const groups = new Map(names.map((name, i) => [name, i]));
  for (const x of plan) groups.set(names[x.index]!, x.group);
  const members = new Map<number, number>();
  for (const group of groups.values()) members.set(group, (members.get(group) ?? 0) + 1);
  const found = sharedPastHeads(records, captures, (file) => groups.get(file) ?? -1);
  // A file that overlaps two others: its rate against one and its shift against the other need
  // not agree, so only a pair of files that overlap nothing else, and were read alone or merged
  // with each other only, is brought onto one rate.
  const pairsOf = new Map<string, number>();
  for (const pair of found) for (const file of pair.files) pairsOf.set(file, (pairsOf.get(file) ?? 0) + 1);
  const onTheirOwn = ([a, b]: [string, string]) => {
    const [ga, gb] = [groups.get(a) ?? -1, groups.get(b) ?? -1];
    return ga === gb ? members.get(ga) === 2 : members.get(ga) === 1 && members.get(gb) === 1;
  };
  const corrected = (pair: SharedConnections) => pair.drift === undefined
    || (pair.rate !== undefined && onTheirOwn(pair.files) && pair.files.every((file) => pairsOf.get(file) === 1));
  return { again: [...found.filter(corrected), ...clocksApart(plan, samples, names)], drifting: found.filter((pair) => !corrected(pair)) };
}

/**
 * Pairs whose clocks drift apart (SharedConnections.drift) and are not read again are said: an
 * anomaly of the second file's capture (kind 'clock': the CLI warns, the JSON and the app's clock
 * note carry it), put on the captures of the analysis's last reading.
 */
export function sayDrifting(drifting: readonly SharedConnections[], captures: readonly CaptureSummary[]): void {
  for (const pair of drifting) {
    if (pair.drift === undefined) continue;
    // The file read later carries it, its times told against the other's.
    const [a, b] = pair.files.map((file) => captures.findIndex((c) => c.file === file)) as [number, number];
    if (a < 0 || b < 0) continue;
    const middle = pair.middle ?? pair.ahead;
    const [earlier, later, ahead] = a <= b ? [a, b, middle] : [b, a, -middle];
    const file = captures[later]!.file;
    captures[later]!.anomalies.push({
      kind: 'clock', code: CLOCK_DRIFT_CODE, file,
      message: `the file seems to hold ${pair.connections} connections that ${captures[earlier]!.file} holds too, on a clock drifting apart from that file's (the same packets' times differ by ${signed(ahead - pair.drift / 2)} to ${signed(ahead + pair.drift / 2)}): ${pair.rate !== undefined ? `its clock runs ${Math.round(Math.abs(pair.rate) * 1e6)} ppm ${pair.rate > 0 === (later === b) ? 'fast' : 'slow'} against that file's, but the files are read with others (split by direction, or a third capture overlapping them), which would need that rate too` : 'no one shift or rate brings the two onto one clock'}, so the connections both hold count twice (bring the capture hosts' clocks together with NTP, or cut the captures where they overlap)`,
    });
  }
}

/** Seconds with a sign, to the millisecond (a drift of 0.2 s over an hour is the point). */
function signed(seconds: number): string {
  return `${seconds < 0 ? '−' : '+'}${Math.abs(seconds).toFixed(3)} s`;
}

/**
 * The most values within `spread` of one another: their median, the least and how far the most
 * is from it, and how many distinct `keys` (one per value; without them, each value its own) they have.
 */
export function densestSpread(values: readonly number[], spread: number, keys?: readonly number[]): { count: number; median: number; endpoints: number; low: number; spread: number } {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const sorted = order.map((i) => values[i]!);
  let best = 0;
  let bestFrom = 0;
  for (let from = 0, to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! > spread) from++;
    if (to - from + 1 > best) {
      best = to - from + 1;
      bestFrom = from;
    }
  }
  if (best === 0) return { count: 0, median: 0, endpoints: 0, low: 0, spread: 0 };
  const middle = bestFrom + (best - 1) / 2;
  const inside = order.slice(bestFrom, bestFrom + best);
  const endpoints = keys === undefined ? best : new Set(inside.map((i) => keys[i]!)).size;
  return { count: best, median: (sorted[Math.floor(middle)]! + sorted[Math.ceil(middle)]!) / 2, endpoints, low: sorted[bestFrom]!, spread: sorted[bestFrom + best - 1]! - sorted[bestFrom]! };
}

/**
 * The line most of the points (times[i], differences[i]) lie on within SAME_PACKET_SPREAD / 2: the
 * differences of the same packets' times on two clocks that run at two rates. The slope is
 * Theil–Sen's (the median of the slopes between points half the overlap apart, so that the few
 * differences a ClientHello lost by one capture throws off do not tilt it), then least squares
 * over the points near it. `rate`: the slope; `ahead`: the difference at `at`, the points' middle
 * time; `endpoints`: the distinct `keys` of the points near the line, `low` and `high` their least
 * and greatest differences. Null without two times.
 */
export function driftLine(times: readonly number[], differences: readonly number[], keys: readonly number[]): { rate: number; ahead: number; at: number; endpoints: number; low: number; high: number } | null {
  const n = times.length;
  const order = times.map((_, i) => i).sort((a, b) => times[a]! - times[b]!);
  if (n < 2 || !(times[order[n - 1]!]! > times[order[0]!]!)) return null;
  const half = Math.floor(n / 2);
  const slopes: number[] = [];
  for (let k = 0; k + half < n; k++) {
    const i = order[k]!;
    const j = order[k + half]!;
    const span = times[j]! - times[i]!;
    if (span > 0) slopes.push((differences[j]! - differences[i]!) / span);
  }
  if (slopes.length === 0) return null;
  const at = times[order[half]!]!;
  let rate = middleOf(slopes);
  let ahead = middleOf(order.map((i) => differences[i]! - rate * (times[i]! - at)));
  const near = (i: number) => Math.abs(differences[i]! - ahead - rate * (times[i]! - at)) <= SAME_PACKET_SPREAD / 2;
  let inliers = order.filter(near);
  if (inliers.length >= 2) {
    let sumT = 0;
    let sumD = 0;
    for (const i of inliers) {
      sumT += times[i]! - at;
      sumD += differences[i]!;
    }
    const meanT = sumT / inliers.length;
    const meanD = sumD / inliers.length;
    let tt = 0;
    let td = 0;
    for (const i of inliers) {
      const t = times[i]! - at - meanT;
      tt += t * t;
      td += t * (differences[i]! - meanD);
    }
    if (tt > 0) {
      rate = td / tt;
      ahead = meanD - rate * meanT;
      inliers = order.filter(near);
    }
  }
  let low = Infinity;
  let high = -Infinity;
  for (const i of inliers) {
    low = Math.min(low, differences[i]!);
    high = Math.max(high, differences[i]!);
  }
  return { rate, ahead, at, endpoints: new Set(inliers.map((i) => keys[i]!)).size, low, high };
}

/** The median of some numbers (sorts them). */
function middleOf(values: number[]): number {
  values.sort((a, b) => a - b);
  const m = (values.length - 1) / 2;
  return (values[Math.floor(m)]! + values[Math.ceil(m)]!) / 2;
}

/**
 * Files read merged on clocks apart that their first megabytes could not bound: direction files of
 * two capture hosts that started minutes apart share no handshake in their heads, and were read on
 * the two clocks (a server direction 3 s off made 799 of a farm's 1,196 handshakes "aborted", and
 * 3 s the other way 1,994 connections of 1,196, all without a word). Their handshakes sampled
 * over the whole files as read (CaptureIngest.handshakes, by input index) bound each pair of a
 * group that shares some: where a shift of 0 does not fit, the pair is to be read again on one
 * clock (`ahead` as read; readTogether takes the reading's own shifts out). `names`: the capture
 * names by input index.
 */
export function clocksApart(plan: readonly PlannedFile[], samples: readonly (ReadonlyMap<string, HandshakeTimes> | null | undefined)[], names: readonly string[]): SharedConnections[] {
  const found: SharedConnections[] = [];
  const groups = new Map<number, number[]>();
  for (const x of plan) if (samples[x.index]) groups.set(x.group, [...(groups.get(x.group) ?? []), x.index]);
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const neighbours = sharingHandshakes(members.map((i) => samples[i]!));
    neighbours.forEach((near, k) => {
      for (const l of near) {
        // Each pair once, the file given first first (its clock the reference).
        const a = members[k]!;
        const b = members[l]!;
        if (b < a) continue;
        const estimate = estimateOffset(samples[a]!, samples[b]!);
        if (estimate === null || Math.abs(estimate.seconds) < SAME_CLOCK) continue;
        // The shift of b onto a's clock: b reads that much behind, as read.
        found.push({ files: [names[a]!, names[b]!], ahead: -estimate.seconds, handshakes: estimate.handshakes });
      }
    });
  }
  return found;
}

/**
 * The files to read again merged (input indexes), from what sharedPastHeads found in a reading
 * planned as `plan`: each pair's clock difference as the files hold their times (the reading's own
 * shifts taken out), and the file given first first (its clock is the reference).
 */
export function readTogether(found: readonly SharedConnections[], indexOf: (file: string) => number, plan: readonly PlannedFile[] = []): ReadTogether[] {
  const shiftOf = (index: number) => plan.find((x) => x.index === index)?.clockOffset?.seconds ?? 0;
  /** The file's first packet time as read (its shift added). */
  const firstOf = (index: number) => plan.find((x) => x.index === index)?.firstTime;
  return found.map((pair) => {
    let a = indexOf(pair.files[0]);
    let b = indexOf(pair.files[1]);
    // Read times are the file's own plus its shift: ahead as read = own ahead + shift(b) − shift(a).
    let ahead = pair.ahead - shiftOf(b) + shiftOf(a);
    // Clocks at two rates: the file given later is brought onto the rate of the one given first,
    // around its first packet (so that its head reads as the probes read it: their handshakes bound
    // the shift of files read merged); the shift is then the difference there, and holds throughout.
    // The line: pair.files[1]'s time (as read) = pair.files[0]'s + pair.ahead + rate × (that − pair.at),
    // so the second's clock runs (1 + rate) times the first's, and the first's 1 / (1 + rate) times the second's.
    const { rate, at } = pair;
    let drift: ReadTogether['drift'];
    if (rate !== undefined && at !== undefined) {
      const connections = pair.connections ?? 0;
      if (b > a) {
        const anchor = firstOf(b) ?? at + pair.ahead;
        drift = { file: b, rate, at: anchor - shiftOf(b), against: pair.files[0], connections };
        ahead = (pair.ahead + rate * (anchor - at)) / (1 + rate) - shiftOf(b) + shiftOf(a);
      } else {
        const anchor = firstOf(a) ?? at;
        drift = { file: a, rate: 1 / (1 + rate) - 1, at: anchor - shiftOf(a), against: pair.files[1], connections };
        ahead = pair.ahead + rate * (anchor - at) - shiftOf(b) + shiftOf(a);
      }
    }
    if (b < a) {
      [a, b] = [b, a];
      ahead = -ahead;
    }
    return {
      files: [a, b] as const, ahead, ...(pair.connections !== undefined ? { connections: pair.connections } : {}),
      ...(pair.handshakes !== undefined ? { handshakes: pair.handshakes } : {}), ...(drift !== undefined ? { drift } : {}),
    };
  });
}

/** The planned files read merged with another (their `index`), in reading order. */
export function mergedFiles(plan: readonly PlannedFile[]): number[] {
  const size = new Map<number, number>();
  for (const x of plan) size.set(x.group, (size.get(x.group) ?? 0) + 1);
  return plan.filter((x) => size.get(x.group)! > 1).map((x) => x.index);
}

/** A file being read into the analysis, chunk by chunk, as its platform reads it. */
export interface TimedSource {
  /** Null until its first chunk is read (the format is known from its first bytes). */
  readonly ingest: TimeOrderedIngest | null;
  /** No more chunks: read to its end, or stopped by an error (kept by the source for its close). */
  readonly ended: boolean;
  /** Reads and analyses its next chunk: frames later than `bound` are held (CaptureIngest.holdAfter). */
  read(bound: number): Promise<void>;
  /** Analyses the frames it holds, up to the first later than `until`. */
  release(until: number): void;
}

/**
 * What the platforms' sources share (the CLI's files, the app's web streams): the ingest, the end,
 * the error kept for the close, and the release of held frames.
 */
export abstract class ChunkSource<I extends TimeOrderedIngest = CaptureIngest> implements TimedSource {
  ingest: I | null = null;
  /** No more chunks: read to its end, or stopped by an error (`failure`). */
  ended = false;
  /** What ended it early (a read, damage, a bug), reported when it is closed; null: nothing. */
  protected failure: unknown = null;

  abstract read(bound: number): Promise<void>;

  protected fail(e: unknown): void {
    this.failure = e;
    this.ended = true;
  }

  /**
   * Analyse the frames it held, up to `until`. An error there is the file's, as when its frames
   * are analysed as read: the rest it held is let go.
   */
  release(until: number): void {
    try {
      this.ingest?.releaseHeld(until);
    } catch (e) {
      this.fail(e);
      this.ingest?.dropHeld();
    }
  }
}

export interface MergedReadingHooks<S extends TimedSource> {
  /** Opens the planned file (nothing read yet). */
  open(file: PlannedFile): S;
  /** After each chunk read (progress, back-pressure, a break for the UI). */
  afterRead?(source: S): Promise<void>;
  /** The file is read to its end and all it held analysed: finish it, or report its failure. */
  close(source: S): Promise<void>;
  /** Closes a file left open by an error or a stop (nothing more is analysed from it). */
  abandon(source: S): Promise<void>;
  /** Checked between chunks: true stops the reading; what was read is analysed to its end. */
  cancelled?(): boolean;
}

/**
 * Reads the planned files into one analysis. Files that hold the same connections (one per
 * direction of a tap) are read merged by packet time, as `mergecap` (without -a) would have joined
 * them: a file from its first packet's turn on, each packet in time order. Where such files follow
 * each other, their frames are analysed as read; only where they overlap are frames copied and
 * held, at most about a read chunk per open file. Other files (a rotated capture, captures of
 * other hosts) are read one after another in order of their first packet.
 */
export async function readInTimeOrder<S extends TimedSource>(plan: readonly PlannedFile[], hooks: MergedReadingHooks<S>): Promise<void> {
  const open: { source: S; group: number }[] = [];
  let next = 0;
  const read = async (source: S, bound: number): Promise<void> => {
    await source.read(bound);
    await hooks.afterRead?.(source);
  };
  const close = async (entry: { source: S }): Promise<void> => {
    open.splice(open.indexOf(entry as { source: S; group: number }), 1);
    await hooks.close(entry.source);
  };
  try {
    for (;;) {
      if (hooks.cancelled?.()) {
        for (const entry of [...open]) {
          entry.source.release(Infinity);
          await close(entry);
        }
        return;
      }
      const finished = open.find((entry) => entry.source.ended && !entry.source.ingest?.holdsFrames);
      if (finished !== undefined) {
        await close(finished);
        continue;
      }
      // Each open file either holds frames (its next one is known) or is the one being read as
      // it comes (at most one: its next frame is not known until read).
      let earliest: S | null = null;
      let reading: S | null = null;
      for (const { source } of open) {
        if (!source.ingest?.holdsFrames) reading = source;
        else if (earliest === null || source.ingest.nextHeldTime < earliest.ingest!.nextHeldTime) earliest = source;
      }
      const heldFirst = earliest?.ingest?.nextHeldTime ?? Infinity;
      // A file of another group waits until this group's files are all read.
      const nextFile = plan[next];
      const nextFirst = nextFile !== undefined && (open.length === 0 || nextFile.group === open[0]!.group) ? nextFile.firstTime : Infinity;
      if (nextFile !== undefined && (open.length === 0 || (reading === null && nextFirst <= heldFirst))) {
        // The next file's first packet comes before anything held: it joins. Alone, it is read
        // as it comes (up to the file after it); beside others, its first chunk waits its turn.
        const source = hooks.open(nextFile);
        next++;
        const alone = open.length === 0;
        open.push({ source, group: nextFile.group });
        const after = plan[next];
        await read(source, !alone ? -Infinity : after !== undefined && after.group === nextFile.group ? after.firstTime : Infinity);
        continue;
      }
      if (reading !== null) {
        // Read on until a frame comes after another file's next one.
        await read(reading, Math.min(heldFirst, nextFirst));
        continue;
      }
      if (earliest === null) return;
      // Its frames go until another file's next frame is due; then that file's turn.
      let secondHeld = nextFirst;
      for (const { source } of open) if (source !== earliest) secondHeld = Math.min(secondHeld, source.ingest!.nextHeldTime);
      earliest.release(secondHeld);
    }
  } finally {
    // Stopping early (cancelled, or an error) must still close the files.
    for (const { source } of open) await hooks.abandon(source);
  }
}
