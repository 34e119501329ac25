// Why resumescope reads captures with its own readers and not with the requested npm package
// pcap-parser (README, "Why its own capture readers"): the same real captures, intact and damaged,
// read by both. pcap-parser 0.2.1 reads classic microsecond pcap only, and a damaged record length
// ends its reading without a word; resumescope's readers read pcapng and nanosecond pcap, resync past
// the damage and say where it was. These are the README's figures: a change on either side fails here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countWithPcapParser } from './tools/pcap-parser-count.js';
import { countWithOwnReader } from './tools/reader-count.js';

const CAPTURES = join(__dirname, '..', 'fixtures', 'captures');
const dir = mkdtempSync(join(tmpdir(), 'resumescope-pcap-parser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The capture with the captured length of its record `index` (0-based) set past any sane size. */
function withDamagedLength(path: string, index: number): string {
  const bytes = Buffer.from(readFileSync(path));
  let offset = 24; // pcap file header (draft-ietf-opsawg-pcap §4); records are 16-byte headers + data (§5)
  for (let i = 0; i < index; i++) offset += 16 + bytes.readUInt32LE(offset + 8);
  bytes.writeUInt32LE(0x7ffffff0, offset + 8);
  const out = join(dir, `damaged-${index}.pcap`);
  writeFileSync(out, bytes);
  return out;
}

describe('the requested pcap-parser against resumescope\'s own capture readers', () => {
  const intact = join(CAPTURES, 'tls12-session-id-resume.pcap');

  it('read an intact microsecond pcap alike', async () => {
    const theirs = await countWithPcapParser(intact);
    const ours = countWithOwnReader(intact);
    expect(ours.packets).toBe(51);
    expect(theirs).toEqual({ packets: ours.packets, bytes: ours.bytes, first: ours.first });
    expect(ours.anomalies).toBe(0);
  });

  it('a damaged record length: pcap-parser stops there silently, ours loses that record only and says so', async () => {
    const damaged = withDamagedLength(intact, 4);
    const theirs = await countWithPcapParser(damaged);
    const ours = countWithOwnReader(damaged);
    expect(theirs.packets).toBe(4);
    expect(ours.packets).toBe(50);
    expect(ours.anomalies).toBe(1);
  });

  it('a file cut inside a record: both keep the records before the cut, ours says it was cut', async () => {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(intact).subarray(0, 3000));
    const theirs = await countWithPcapParser(cut);
    const ours = countWithOwnReader(cut);
    expect(theirs.packets).toBe(14);
    expect(ours.packets).toBe(14);
    expect(ours.anomalies).toBe(1);
  });

  it('pcapng and nanosecond pcap: pcap-parser refuses both, ours reads them', async () => {
    for (const [file, packets] of [['tls12-ticket-resume.pcapng', 34], ['tls12-nanosecond.pcap', 17]] as const) {
      await expect(countWithPcapParser(join(CAPTURES, file))).rejects.toThrow(/unknown magic number/);
      expect(countWithOwnReader(join(CAPTURES, file))).toMatchObject({ packets, anomalies: 0 });
    }
  });
});
