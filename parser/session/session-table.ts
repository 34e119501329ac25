import type { ConnectionRecord } from '../report/types.js';

// Follows every session (ID, ticket, PSK identity) across connections: who issued
// it, every later offer and its fate. Records are processed in ClientHello order,
// whatever the order of files and packets.

export type SessionKind = 'session-id' | 'ticket' | 'psk';

/** One cached session as the traffic shows it. Kept small: there may be millions. */
export class TrackedSession {
  uses = 0;
  /** Connection id of the last handshake that offered this session and was aborted. */
  abortedBy = -1;
  abortedAt = -1;
  constructor(
    readonly kind: SessionKind,
    /** Connection id that issued it; -1 when issued before the capture began. */
    readonly issuedBy: number,
    readonly issuedAt: number,
    /** "ip|port" of the server address that issued it. */
    readonly issuer: string,
    readonly group: ServerGroup,
    /** The group's issue counter when this session was issued: churn = later issues. */
    readonly issueIndex: number,
    public lastUse: number,
  ) {}
}

/** One service (SNI + port, or address + port without SNI): may hide several backends. */
export class ServerGroup {
  readonly addresses = new Map<string, number>();
  issued = 0;
  connections = 0;
  constructor(
    readonly key: string,
    readonly sni: string | null,
    readonly port: number,
  ) {}
}

const KINDS: readonly SessionKind[] = ['session-id', 'ticket', 'psk'];
const FACT_KNOWN = 4, FACT_ACCEPTED = 8, FACT_CROSS_ADDRESS = 16;

/**
 * What the session table knows about one connection's offer. There is one per offer (millions
 * in a farm capture), so it stores only what cannot be derived: the derived facts are getters
 * (numbers in fields are boxed, ~12 bytes each).
 */
export class OfferFacts {
  private readonly flags: number;
  /** Seconds since its last successful use (issue or accepted resumption); null: unknown session. */
  readonly reuseGap: number | null;
  /** Sessions the issuing group had issued when this offer was made (churn = that minus the session's index). */
  private readonly issuedSoFar: number;
  private readonly abortedById: number;

  constructor(
    readonly connection: ConnectionRecord,
    readonly group: ServerGroup,
    kind: SessionKind,
    readonly session: TrackedSession | null,
    accepted: boolean,
    abortedBy: number | null,
    crossAddress: boolean,
    /** "ip|port" of the server address the offer went to. */
    readonly serverAddress: string,
    private readonly table: SessionTable,
  ) {
    this.flags = KINDS.indexOf(kind) | (session !== null ? FACT_KNOWN : 0) | (accepted ? FACT_ACCEPTED : 0) | (crossAddress ? FACT_CROSS_ADDRESS : 0);
    this.reuseGap = session ? offerTime(connection) - session.lastUse : null;
    // Churn counts the issuing group's sessions (a ticket may be offered to another group).
    this.issuedSoFar = session ? session.group.issued : 0;
    this.abortedById = abortedBy ?? -1;
  }

  get kind(): SessionKind { return KINDS[this.flags & 3]!; }
  /** The table knew the session: issued or used earlier in the capture. */
  get known(): boolean { return (this.flags & FACT_KNOWN) !== 0; }
  get accepted(): boolean { return (this.flags & FACT_ACCEPTED) !== 0; }
  /** Offered to another server address than the one that issued it. */
  get crossAddress(): boolean { return (this.flags & FACT_CROSS_ADDRESS) !== 0; }
  get time(): number { return offerTime(this.connection); }
  /** Seconds since the session was issued (null when issued before the capture). */
  get age(): number | null {
    return this.session && this.session.issuedBy >= 0 ? this.time - this.session.issuedAt : null;
  }
  /** New sessions the same group issued since this one. */
  get churn(): number | null {
    return this.session && this.session.issuedBy >= 0 ? this.issuedSoFar - this.session.issueIndex : null;
  }
  /** Id of an aborted handshake that offered this session since its last success. */
  get abortedBy(): number | null { return this.abortedById >= 0 ? this.abortedById : null; }
  /** Seconds from the start of the capture: a lower bound of idle time and age for an unknown session. */
  get sinceCaptureStart(): number | null {
    return Number.isFinite(this.table.captureStart) ? this.time - this.table.captureStart : null;
  }
  get issuer(): string | null { return this.session?.issuer ?? null; }
}

export function groupKeyOf(c: ConnectionRecord): { key: string; sni: string | null; port: number } {
  const sni = c.sni !== null && c.sni.length > 0 ? c.sni.toLowerCase() : null;
  return { key: sni !== null ? `${sni}:${c.server.port}` : `${c.server.ip}:${c.server.port}`, sni, port: c.server.port };
}

export function addressOf(c: ConnectionRecord): string {
  return `${c.server.ip}|${c.server.port}`;
}

/** The time a connection counts at in session order. */
export function offerTime(c: ConnectionRecord): number {
  return c.clientHelloTime ?? c.startTime;
}

export class SessionTable {
  readonly groups = new Map<string, ServerGroup>();
  private readonly sessions = new Map<string, TrackedSession>();
  readonly offers: OfferFacts[] = [];
  /** Sessions of unknown origin that an aborted handshake offered: key → that connection's id. */
  private readonly abortedUnknown = new Map<string, number>();
  /** Time of the first packet of the analysis: unknown sessions are at least this old. */
  captureStart = Infinity;
  /** The session the connection last given to `add` ended up holding (issued or resumed), for the client view. */
  heldAfter: TrackedSession | null = null;

  /** Server addresses repeat across millions of connections: one string each. */
  private readonly addresses = new Map<string, string>();

  private intern(address: string): string {
    const known = this.addresses.get(address);
    if (known !== undefined) return known;
    this.addresses.set(address, address);
    return address;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  group(c: ConnectionRecord): ServerGroup {
    const { key, sni, port } = groupKeyOf(c);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new ServerGroup(key, sni, port);
      this.groups.set(key, group);
    }
    return group;
  }

  /** Feed connections in ClientHello-time order. */
  add(c: ConnectionRecord): OfferFacts | null {
    const group = this.group(c);
    group.connections++;
    const address = this.intern(addressOf(c));
    this.heldAfter = null;
    group.addresses.set(address, (group.addresses.get(address) ?? 0) + 1);
    const time = offerTime(c);
    let facts: OfferFacts | null = null;

    if (c.resumption === 'accepted' || c.resumption === 'rejected' || c.resumption === 'unanswered') {
      const { kind, key } = offeredKey(c);
      let session = key === null ? undefined : this.sessions.get(key);
      if (session === undefined && kind === 'psk') {
        session = this.sessions.get(pskClientKey(c, group));
        if (session !== undefined && key !== null) this.sessions.set(key, session);
      }
      // The server's answer is the cache's decision, even if the client then aborts.
      const accepted = c.resumption === 'accepted';
      const abortedBy = session && session.abortedBy >= 0 && session.abortedAt >= session.lastUse ? session.abortedBy
        : session === undefined && key !== null ? this.abortedUnknown.get(key) ?? null : null;
      facts = new OfferFacts(c, group, kind, session ?? null, accepted, abortedBy, session !== undefined && session.issuer !== address, address, this);
      if (c.resumption !== 'unanswered') this.offers.push(facts);
      if (session === undefined && key !== null && c.handshake === 'aborted') {
        this.abortedUnknown.set(key, c.id);
      }
      if (session === undefined && key !== null && c.resumed) {
        // First sight of a session issued before the capture: remember it from now on.
        const adopted = new TrackedSession(kind, -1, time, address, group, group.issued, time);
        adopted.uses = 1;
        this.sessions.set(key, adopted);
        this.heldAfter = adopted;
      } else if (session !== undefined) {
        if (c.resumed) {
          session.lastUse = time;
          session.uses++;
          this.heldAfter = session;
          if (kind === 'psk') this.sessions.set(pskClientKey(c, group), session);
        } else if (c.handshake === 'aborted' && c.abort !== null) {
          session.abortedBy = c.id;
          session.abortedAt = time;
        }
      }
    }

    // A completed full handshake issues new session state (RFC 5246 §7.4.1.3; RFC 5077 §3.3).
    if (c.established && !c.resumed) this.issue(c, group, address, time);
    else if (c.resumed && c.issuedTicket !== null) this.alias(sessionKey('ticket', c.issuedTicket), this.heldAfter ?? undefined);
    return facts;
  }

  private issue(c: ConnectionRecord, group: ServerGroup, address: string, time: number): void {
    const tls13 = c.version === 'TLS 1.3';
    let kind: SessionKind | null = null;
    const keys: string[] = [];
    if (c.issuedTicket !== null) { kind = 'ticket'; keys.push(sessionKey('ticket', c.issuedTicket)); }
    if (!tls13 && c.serverSessionId !== null) { kind ??= 'session-id'; keys.push(sessionKey('session-id', c.serverSessionId)); }
    if (tls13) {
      // TLS 1.3 tickets travel encrypted: the issue is inferred, keyed by client and group,
      // and linked to the PSK identity when the client first offers it.
      kind = 'psk';
      keys.push(pskClientKey(c, group));
    }
    if (kind === null) return;
    const session = new TrackedSession(kind, c.id, time, address, group, group.issued++, time);
    for (const key of keys) this.sessions.set(key, session);
    this.heldAfter = session;
  }

  private alias(key: string, session: TrackedSession | undefined): void {
    if (session !== undefined) this.sessions.set(key, session);
  }

}

const KEY_PREFIX: Record<SessionKind, string> = { 'session-id': 's', ticket: 't', psk: 'p' };
const codes: number[] = [];

/**
 * The table key of a session: a kind letter, then the hex value's bytes as characters (half the
 * size of the hex text: a million sessions are keys of ~48 bytes instead of ~80). Values that are
 * not lower-case hex keep their text, after an upper-case letter, so the two forms never meet.
 */
export function sessionKey(kind: SessionKind, hex: string): string {
  const n = hex.length;
  let packed = n % 2 === 0 && n <= 2048;
  codes.length = 1 + n / 2;
  codes[0] = KEY_PREFIX[kind].charCodeAt(0);
  for (let i = 0; packed && i < n; i += 2) {
    const high = hexValue(hex.charCodeAt(i));
    const low = hexValue(hex.charCodeAt(i + 1));
    if (high < 0 || low < 0) packed = false;
    codes[1 + i / 2] = (high << 4) | low;
  }
  return packed ? String.fromCharCode.apply(null, codes) : KEY_PREFIX[kind].toUpperCase() + hex;
}

function hexValue(code: number): number {
  return code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1;
}

/** TLS 1.3 PSK offers fall back to the client's latest session with the group. */
function pskClientKey(c: ConnectionRecord, group: ServerGroup): string {
  // Upper-case 'C' and a separator no hex value contains: never equal to a sessionKey.
  return `C${c.client.ip}|${group.key}`;
}

/** The table key an offer is looked up by: ticket first, then PSK identity, then session ID. */
function offeredKey(c: ConnectionRecord): { kind: SessionKind; key: string | null } {
  if (c.offer.ticket && c.offeredTicket !== null) return { kind: 'ticket', key: sessionKey('ticket', c.offeredTicket) };
  if (c.offer.psk) return { kind: 'psk', key: c.offeredPskIdentity !== null ? sessionKey('psk', c.offeredPskIdentity) : null };
  const sessionId = c.offer.sessionId;
  if (sessionId !== null) return { kind: 'session-id', key: sessionKey('session-id', sessionId) };
  return { kind: 'session-id', key: null };
}
