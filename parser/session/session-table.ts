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

/** What the session table knows about one connection's offer (null fields: no offer). */
export interface OfferFacts {
  connection: ConnectionRecord;
  group: ServerGroup;
  kind: SessionKind;
  /** The table knew the session: issued or used earlier in the capture. */
  known: boolean;
  session: TrackedSession | null;
  accepted: boolean;
  time: number;
  /** Seconds since the session was issued (null when issued before the capture). */
  age: number | null;
  /** Seconds since its last successful use (issue or accepted resumption). */
  reuseGap: number | null;
  /** New sessions the same group issued since this one. */
  churn: number | null;
  /** Id of an aborted handshake that offered this session since its last success. */
  abortedBy: number | null;
  /** Seconds from the start of the capture: a lower bound of idle time and age for an unknown session. */
  sinceCaptureStart: number | null;
  /** Offered to another server address than the one that issued it. */
  crossAddress: boolean;
  issuer: string | null;
  serverAddress: string;
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
  /** Per connection id: the session it ended up holding (issued or resumed), for the client view. */
  readonly heldAfter = new Map<number, TrackedSession>();

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
      facts = {
        connection: c, group, kind, known: session !== undefined, session: session ?? null, accepted, time,
        age: session && session.issuedBy >= 0 ? time - session.issuedAt : null,
        reuseGap: session ? time - session.lastUse : null,
        churn: session && session.issuedBy >= 0 ? session.group.issued - session.issueIndex : null,
        abortedBy: session && session.abortedBy >= 0 && session.abortedAt >= session.lastUse ? session.abortedBy
          : session === undefined && key !== null ? this.abortedUnknown.get(key) ?? null : null,
        sinceCaptureStart: Number.isFinite(this.captureStart) ? time - this.captureStart : null,
        crossAddress: session !== undefined && session.issuer !== address,
        issuer: session?.issuer ?? null,
        serverAddress: address,
      };
      if (c.resumption !== 'unanswered') this.offers.push(facts);
      if (session === undefined && key !== null && c.handshake === 'aborted') {
        this.abortedUnknown.set(key, c.id);
      }
      if (session === undefined && key !== null && c.resumed) {
        // First sight of a session issued before the capture: remember it from now on.
        const adopted = new TrackedSession(kind, -1, time, address, group, group.issued, time);
        adopted.uses = 1;
        this.sessions.set(key, adopted);
        this.heldAfter.set(c.id, adopted);
      } else if (session !== undefined) {
        if (c.resumed) {
          session.lastUse = time;
          session.uses++;
          this.heldAfter.set(c.id, session);
          if (kind === 'psk') this.sessions.set(pskClientKey(c, group), session);
        } else if (c.handshake === 'aborted' && c.abort !== null) {
          session.abortedBy = c.id;
          session.abortedAt = time;
        }
      }
    }

    // A completed full handshake issues new session state (RFC 5246 §7.4.1.3; RFC 5077 §3.3).
    if (c.established && !c.resumed) this.issue(c, group, address, time);
    else if (c.resumed && c.issuedTicket !== null) this.alias(`ticket:${c.issuedTicket}`, this.heldAfter.get(c.id));
    return facts;
  }

  private issue(c: ConnectionRecord, group: ServerGroup, address: string, time: number): void {
    const tls13 = c.version === 'TLS 1.3';
    let kind: SessionKind | null = null;
    const keys: string[] = [];
    if (c.issuedTicket !== null) { kind = 'ticket'; keys.push(`ticket:${c.issuedTicket}`); }
    if (!tls13 && c.serverSessionId !== null) { kind ??= 'session-id'; keys.push(`sid:${c.serverSessionId}`); }
    if (tls13) {
      // TLS 1.3 tickets travel encrypted: the issue is inferred, keyed by client and group,
      // and linked to the PSK identity when the client first offers it.
      kind = 'psk';
      keys.push(pskClientKey(c, group));
    }
    if (kind === null) return;
    const session = new TrackedSession(kind, c.id, time, address, group, group.issued++, time);
    for (const key of keys) this.sessions.set(key, session);
    this.heldAfter.set(c.id, session);
  }

  private alias(key: string, session: TrackedSession | undefined): void {
    if (session !== undefined) this.sessions.set(key, session);
  }

}

/** TLS 1.3 PSK offers fall back to the client's latest session with the group. */
function pskClientKey(c: ConnectionRecord, group: ServerGroup): string {
  return `psk-client:${c.client.ip}|${group.key}`;
}

/** The table key an offer is looked up by: ticket first, then PSK identity, then session ID. */
function offeredKey(c: ConnectionRecord): { kind: SessionKind; key: string | null } {
  if (c.offer.ticket && c.offeredTicket !== null) return { kind: 'ticket', key: `ticket:${c.offeredTicket}` };
  if (c.offer.psk) return { kind: 'psk', key: c.offeredPskIdentity !== null ? `psk:${c.offeredPskIdentity}` : null };
  if (c.offer.sessionId !== null) return { kind: 'session-id', key: `sid:${c.offer.sessionId}` };
  return { kind: 'session-id', key: null };
}
