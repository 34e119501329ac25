/**
 * What each recorded capture in fixtures/captures/ is known to contain.
 *
 * Derived from how fixtures/record/record.sh records it (see
 * fixtures/captures/PROVENANCE.md) and verified against tshark by
 * test/tshark-oracle.test.ts. Connections are listed in TCP stream order.
 */

/** How a resumption was achieved. */
export type ExpectedResumedBy = 'session-id' | 'ticket' | 'psk';

/** Expected facts about one TCP connection of a fixture. */
export interface ExpectedConnection {
  /** The server accepted a resumption (TLS 1.3: PSK; TLS 1.2: abbreviated handshake). */
  resumed: boolean;
  /** Set exactly when `resumed`. */
  resumedBy?: ExpectedResumedBy;
  /** Negotiated protocol version, as in TsharkConnection.version. */
  version: 'TLS 1.0' | 'TLS 1.2' | 'TLS 1.3';
  /** The ClientHello offered something to resume (session ID, ticket or PSK). */
  offered: boolean;
  /** The server answered the first ClientHello with a HelloRetryRequest. */
  helloRetry?: boolean;
  /**
   * Who sent the first TCP RST of the connection, if anyone. 'either' means
   * the connection always ends with a RST but which side sends the first one
   * is a race that differs from one recording to the next (see
   * nginx-curl-resume.pcap in PROVENANCE.md).
   */
  rstBy?: 'client' | 'server' | 'either';
  /** A load balancer's own health check (PROXY LOCAL header): its ClientHello names no server (no SNI). */
  healthCheck?: boolean;
  /**
   * The client gave up after the ServerHello with a fatal alert (refusing the certificate), in clear
   * or encrypted (TLS 1.3): the handshake was aborted by the client, never completed.
   */
  clientGaveUp?: 'clear' | 'encrypted';
  /**
   * The server refused the client's Finished flight (a client certificate from an unknown CA, or
   * none where one is required) with a fatal alert, encrypted (TLS 1.3) or in clear (TLS 1.2): the
   * handshake was aborted by the server after the client's Finished. The oracle checks it only
   * where the fixture's session keys are kept (`<name>.keys`): the client's Finished is encrypted.
   */
  serverRefused?: 'clear' | 'encrypted';
}

/** File-level facts of a fixture. */
export interface ExpectedFile {
  /** pcap (microsecond or nanosecond magic) or pcapng. */
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Link-layer header type number (LINKTYPE_*): 1 Ethernet, 113 Linux SLL, 276 Linux SLL2. */
  linkType: 1 | 113 | 276;
  /** IP version of every connection. */
  ipVersion: 4 | 6;
  /** TCP port of the server in every connection. */
  serverPort: number;
  /** The server's addresses, connection by connection in turn (default: the loopback address only). */
  serverAddresses?: string[];
}

/** Every connection of every fixture also carries this SNI. */
export const FIXTURE_SNI = 'resumescope.test';

const full12: ExpectedConnection = { resumed: false, version: 'TLS 1.2', offered: false };
const full13: ExpectedConnection = { resumed: false, version: 'TLS 1.3', offered: false };
const sid12: ExpectedConnection = { resumed: true, resumedBy: 'session-id', version: 'TLS 1.2', offered: true };
const rej12: ExpectedConnection = { resumed: false, version: 'TLS 1.2', offered: true };
const ticket12: ExpectedConnection = { resumed: true, resumedBy: 'ticket', version: 'TLS 1.2', offered: true };
const psk13: ExpectedConnection = { resumed: true, resumedBy: 'psk', version: 'TLS 1.3', offered: true };
const rej13: ExpectedConnection = { resumed: false, version: 'TLS 1.3', offered: true };

/**
 * Connections one letter each: F full handshake, S resumed (TLS 1.2: by session ID; TLS 1.3: by
 * PSK), T resumed by session ticket (TLS 1.2), R offer rejected.
 */
function outcomesOf(letters: string, version: 'TLS 1.2' | 'TLS 1.3' = 'TLS 1.2'): ExpectedConnection[] {
  const [full, resumed, rejected] = version === 'TLS 1.2' ? [full12, sid12, rej12] : [full13, psk13, rej13];
  return Array.from(letters, (letter) => (letter === 'S' ? resumed : letter === 'T' ? ticket12 : letter === 'R' ? rejected : full));
}

/** file name (in fixtures/captures/) → connections in TCP stream order. */

export const FIXTURE_FACTS: Record<string, ExpectedConnection[]> = {
  'tls12-full.pcap': [full12],
  'tls12-session-id-resume.pcap': [full12, sid12, sid12],
  // Mutual TLS 1.2: the client's certificate in each full handshake, none in the resumption.
  'tls12-client-certificate.pcap': [full12, sid12, full12],
  'tls12-ticket-resume.pcapng': [
    full12,
    { resumed: true, resumedBy: 'ticket', version: 'TLS 1.2', offered: true },
  ],
  'tls13-psk-resume.pcap': [full13, { resumed: true, resumedBy: 'psk', version: 'TLS 1.3', offered: true }],
  'tls12-rejected-after-restart.pcap': [full12, { resumed: false, version: 'TLS 1.2', offered: true }],
  'tls12-rst-after-server-hello.pcap': [full12, { ...sid12, rstBy: 'client' }, sid12],
  'tls13-hello-retry.pcap': [{ ...full13, helloRetry: true }],
  'tls12-ipv6.pcap': [full12],
  'tls-sll-any.pcap': [full13],
  'tls-sll1-any.pcap': [full12],
  'tls12-nanosecond.pcap': [full12],
  // nginx ssl_session_timeout 4s: OpenSSL keeps session times in whole seconds, so an offer
  // 3.7-4.0 s after the session's creation may already be refused (see PROVENANCE.md).
  'nginx-session-timeout.pcap': [full12, sid12, sid12, sid12, rej12, sid12, sid12, sid12, sid12, rej12, sid12, sid12, sid12, rej12, sid12, sid12, sid12, rej12],
  'nginx-curl-resume.pcap': [
    { ...full12, rstBy: 'either' },
    { ...sid12, rstBy: 'either' },
    { ...sid12, rstBy: 'either' },
  ],
  // F full handshake, S resumed by session ID, R offer rejected (see outcomesOf).
  'nginx-cache-capacity.pcap': outcomesOf('FFFFFSSSSSFFFFFFFFFFFSSSSSSSSSRRRRRRR'),
  'nginx-lb-no-shared-cache.pcap': outcomesOf('FSSRSSRRSRSRRSSSSSSSSSRRSRSRRR'),
  'nginx-cache-flush.pcap': outcomesOf('FFFFFFFFSSSSSSSSRRRRRRRRSSSSSSSS'),
  'nginx-tls13-idle.pcap': outcomesOf('FSSSSSRSSSFSSSFS', 'TLS 1.3'),
  // Chromium offers TLS 1.3; nginx 1.22 stops at TLS 1.2 by default. Its first ClientHello carries a
  // random session ID (TLS 1.3 compatibility mode), which TLS 1.2 rules count as an offer.
  'chromium-nginx-resume.pcap': [rej12, ticket12, ticket12],
  'chromium-nginx-tls13.pcap': outcomesOf('FSS', 'TLS 1.3'),
  // The compatibility ID first (a refused offer by TLS 1.2's rules), then the real session ID.
  'chromium-nginx-session-id.pcap': [rej12, sid12, sid12],
  'nginx-tls13-two-stacks.pcap': outcomesOf('FFSSSSSSSS', 'TLS 1.3'),
  'tls12-client-forgets.pcap': outcomesOf('FSSSFSSSFSSSFSSS'),
  'nginx-two-workers-builtin-cache.pcap': outcomesOf('FSSSSRSSSRSSRRSSSSSRRRSSSRRSSR'),
  // The resumed two end with the browser's RST after the page (see PROVENANCE.md).
  'chromium-nginx-hrr.pcap': outcomesOf('FSS', 'TLS 1.3').map((c, i) => ({ ...c, helloRetry: true, ...(i > 0 ? { rstBy: 'client' as const } : {}) })),
  'nginx-ticket-key-rotation.pcap': outcomesOf('FFFFFFFFTTTTTTTTRRRRRRRRTTTTTTTT'),
  // Four new clients, then eight tickets sealed under the key nginx had before the capture (refused),
  // then all twelve resume under the new key.
  'nginx-ticket-key-before-capture.pcap': outcomesOf('FFFFRRRRRRRRTTTTTTTTTTTT'),
  // The same against gnutls-serv: four new clients, six old tickets refused, then all ten resume.
  'gnutls-ticket-key-before-capture.pcap': outcomesOf('FFFFRRRRRRTTTTTTTTTT'),
  // The same in TLS 1.3 against nginx: four new clients (stacks of their own), eight old identities
  // refused, then all twelve resume.
  'nginx-tls13-ticket-key-before-capture.pcap': outcomesOf('FFFFRRRRRRRRSSSSSSSSSSSS', 'TLS 1.3'),
  // Each cycle: a resumption aborted by the client's fatal alert (the server had resumed it), the
  // purged session refused, the new one resumed.
  // Each session resumed, then the client's fatal alert (alert-client.mjs), then refused.
  'tls12-alert-purge.pcap': outcomesOf('F' + 'SRS'.repeat(4)).map((c, i) => (i % 3 === 1 ? { ...c, clientGaveUp: 'clear' as const } : c)),
  // HAProxy's FIFO cache of 10 purging on a fatal alert (purge-fifo-client.mjs): four sessions resumed and
  // ended with the alert, each refused next; A resumed after 9 newer issues, refused after 10; the rest kept.
  'haproxy-purge-fifo-cache.pcap': outcomesOf('F' + 'FSR'.repeat(4) + 'FSFR' + 'SSSSSS').map((c, i) => ([2, 5, 8, 11].includes(i) ? { ...c, clientGaveUp: 'clear' as const } : c)),
  'chromium-nginx-mtu1500.pcap': outcomesOf('FSS', 'TLS 1.3'),
  'nginx-two-addresses-own-caches.pcap': outcomesOf('F' + 'R'.repeat(11)),
  'nginx-two-addresses-shared-cache.pcap': outcomesOf('F' + 'S'.repeat(11)),
  // nginx resets the two 0-RTT connections after its response (see PROVENANCE.md).
  'nginx-tls13-early-data.pcap': outcomesOf('FSS', 'TLS 1.3').map((c, i) => (i > 0 ? { ...c, rstBy: 'server' as const } : c)),
  // The page, its first two images with the two tickets there were, four images without.
  'chromium-nginx-parallel-rtt.pcap': outcomesOf('FSSSFFFF', 'TLS 1.3'),
  'tls12-never-offers.pcap': outcomesOf('FFFFFFFF'),
  'chromium-nginx-parallel-rtt-server.pcap': outcomesOf('FSSSFFFF', 'TLS 1.3'),
  // The first offer is Chromium's TLS 1.3 compatibility ID; then each offer reached the backend that
  // issued it (S) or the other one (R).
  'chromium-lb-no-shared-cache.pcap': outcomesOf('RRSRSRSSSSRSSRSR'),
  // The same with tickets: resumed by ticket (T) at the backend that sealed it, refused (R) at the other.
  'chromium-lb-tickets.pcap': outcomesOf('RTTRTTTTRTRTRTRT'),
  // TLS 1.3: the page, three PSKs refused (opened at the other backend), four image connections with no
  // ticket left, four PSKs resumed, four without.
  'chromium-lb-tls13.pcap': outcomesOf('FRRRFFFFSSSSFFFF', 'TLS 1.3'),
  // The compatibility ID first, then each session resumed at ~1.2 s and refused at ~4.3 s.
  'chromium-nginx-timeout.pcap': outcomesOf('RSRSRSR'),
  // The same, but its first session refused already at 1.2 s (nginx counts expiry in whole seconds),
  // then a new visitor: its compatibility ID refused, its own session resumed. The first visitor's
  // last connection ends with the browser's RST as its context closes (see PROVENANCE.md).
  'chromium-nginx-new-visitor.pcap': outcomesOf('RRRSRSRRS').map((c, i) => (i === 5 ? { ...c, rstBy: 'client' as const } : c)),
  // nginx's default ssl_session_cache none: a session ID in every ServerHello, none kept.
  'nginx-cache-none.pcap': outcomesOf('FRRRRRRRRRRRRR'),
  // A fresh s_server (fresh ticket keys) for every connection: every ticket refused.
  'tls12-tickets-never-accepted.pcap': outcomesOf('FRRRRR'),
  // Six tickets resumed, s_server restarted (new ticket keys): the six refused a second later, and the capture ends.
  'tls12-ticket-key-restart-at-end.pcap': outcomesOf('FFFFFFTTTTTTRRRRRR'),
  // Clients refusing the server's self-signed certificate: full TLS 1.3 handshakes the client gave
  // up (OpenSSL's alert in clear, Chromium's encrypted), then (OpenSSL) one that accepts it.
  'tls13-client-rejects-certificate.pcap': [{ ...full13, clientGaveUp: 'clear' }, full13],
  'chromium-rejects-certificate.pcap': [{ ...full13, clientGaveUp: 'encrypted' }, { ...full13, clientGaveUp: 'encrypted' }],
  // A server requiring a client certificate from its CA: a stranger's and none refused after the
  // client's Finished (TLS 1.3: encrypted alerts), a trusted client's taken and its session resumed
  // (no certificate asked for), a stranger's refused in TLS 1.2 (in clear).
  // One server, both versions: a TLS 1.2 ticket resumed, then offered by a client that now offers
  // TLS 1.3 (refused), its TLS 1.3 ticket resumed, then offered to the server restarted TLS 1.2-only
  // (refused); then a TLS 1.2 session ID, offered in a TLS 1.3 handshake's legacy ID (no offer by TLS 1.3's
  // rules); then a TLS 1.0 session (by ID), resumed, then offered where TLS 1.2 is negotiated (refused).
  'tls-version-change.pcap': [
    full12, ticket12, rej13, psk13, rej12, full12, full13,
    { resumed: false, version: 'TLS 1.0', offered: false }, { resumed: true, resumedBy: 'session-id', version: 'TLS 1.0', offered: true }, rej12,
  ],
  // HAProxy's "verify required" (mutual TLS at a load balancer): the same five as just below. After
  // the trusted client's HTTP 200 HAProxy has closed when the client's close_notify comes: its RST
  // (in four recordings of four; the resumed one's close_notify came in time in each).
  'haproxy-verify-required.pcap': [
    { ...full13, serverRefused: 'encrypted' }, { ...full13, serverRefused: 'encrypted' }, { ...full13, rstBy: 'server' }, psk13,
    { ...full12, serverRefused: 'clear' },
  ],
  // HAProxy round robin over a TLS 1.3 backend (127.0.0.2) and a TLS 1.2-only one (127.0.0.3): a session
  // carried back and forth (refused each way), a new client's compatibility ID at the TLS 1.2 one, then
  // each resuming its own.
  'haproxy-tls13-rollout.pcap': [full13, rej12, rej13, rej12, full13, rej12, psk13, ticket12],
  // The same farm with Chromium: every connection after the first offers what the one before gave,
  // to a backend of the other version (a page, then its icon, on connections of their own).
  'chromium-tls13-rollout.pcap': [full13, rej12, rej13, rej12, rej13, rej12, rej13, rej12],
  'tls13-server-rejects-client-certificate.pcap': [
    { ...full13, serverRefused: 'encrypted' }, { ...full13, serverRefused: 'encrypted' }, full13, psk13, { ...full12, serverRefused: 'clear' },
  ],
  // nginx's ssl_session_cache off: an empty session ID, no ticket; nothing to offer.
  'nginx-cache-off.pcap': outcomesOf('FFFF'),
  // TLS 1.3 with tickets off: stateful tickets sent, none kept; every PSK refused.
  'nginx-tls13-tickets-off.pcap': outcomesOf('FRRRRR', 'TLS 1.3'),
  // s_server -num_tickets 0: no ticket, nothing offered.
  'tls13-no-tickets.pcap': outcomesOf('FFFF', 'TLS 1.3'),
  // One saved TLS 1.3 ticket offered four times: nginx's stateful tickets resume every time.
  'nginx-tls13-ticket-reuse.pcap': outcomesOf('FSSSS', 'TLS 1.3'),
  // Java's LRU session cache of 10: A kept by its uses, S after 4 s of quiet, B gone after ten new ones.
  'java-lru-cache.pcap': outcomesOf('FFSFFFSFFSFFSFFSFFSRSSSSSSSSSRR'),
  // The same order against OpenSSL's FIFO cache of ten (nginx builtin:10): A goes, however recently used.
  'nginx-fifo-cache.pcap': outcomesOf('FFSFFFSFFSFFSFFRFFRRRSSSSSRRRRR'),
  // The same against HAProxy's session cache of ten (tune.ssl.cachesize 10): FIFO, ten kept.
  'haproxy-fifo-cache.pcap': outcomesOf('FFSFFFSFFSFFSFFRFFRRRSSSSSSRRRR'),
  // Inside VXLAN (a traffic mirror's capture): the same story as tls12-rejected-after-restart, resumed twice first.
  'vxlan-session-id-resume.pcap': outcomesOf('FSSR'),
  // The same tunnel over an underlay of MTU 1280: the server's certificate flight arrives in IP fragments.
  'vxlan-fragmented.pcap': outcomesOf('FSS'),
  // TCP Fast Open: ClientHellos in the SYN; two curl processes, each resuming its own first session.
  // As in nginx-curl-resume, the close ends in a RST from whichever side still had unread data.
  'nginx-curl-tcp-fast-open.pcap': outcomesOf('FSSFSS').map((c) => ({ ...c, rstBy: 'either' as const })),
  // Behind HAProxy (PROXY v2 header), captured at nginx: two clients interleaved, each resuming its own TLS 1.3 session.
  // Each ends in a RST (nginx's close_notify race with curl, as in nginx-curl-resume).
  'haproxy-proxy-protocol.pcap': outcomesOf('FFSSSS', 'TLS 1.3').map((c) => ({ ...c, rstBy: 'either' as const })),
  // The same with PROXY v1 lines and TLS 1.2: curl's first hellos carry TLS 1.3's compatibility session
  // ID, refused by TLS 1.2's rules (as in chromium-nginx-resume), then each client resumes its own session.
  'haproxy-proxy-protocol-v1.pcap': outcomesOf('RRSSSS').map((c) => ({ ...c, rstBy: 'either' as const })),
  // The same with PROXY v2 and HAProxy's TLS health checks (streams 0, 3, 5, 8: LOCAL headers, no SNI),
  // which close with their own RST; each first hello (curl's, the checks') carries a compatibility ID.
  // curl resumes by session ID, HAProxy's checks by ticket.
  'haproxy-proxy-protocol-checks.pcap': outcomesOf('RRRRSTSSTS').map((c, stream) => ({ ...c, rstBy: 'either' as const, ...([0, 3, 5, 8].includes(stream) ? { healthCheck: true } : {}) })),
  // Postfix's SMTP server with STARTTLS (TLS after EHLO/STARTTLS), its session cache, restarted before the fourth.
  // Postfix ends each session (after QUIT) with a RST; 'either' in case a re-recording's race goes the other way.
  'postfix-starttls-session-cache.pcap': outcomesOf('FSSRS').map((c) => ({ ...c, rstBy: 'either' as const })),
};

/** file name → file-level facts. */
export const FIXTURE_FILES: Record<string, ExpectedFile> = {
  'tls12-full.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44301 },
  'tls12-session-id-resume.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44302 },
  'tls12-client-certificate.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44380 },
  'tls12-ticket-resume.pcapng': { format: 'pcapng', linkType: 1, ipVersion: 4, serverPort: 44303 },
  'tls13-psk-resume.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44304 },
  'tls12-rejected-after-restart.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44305 },
  'tls12-rst-after-server-hello.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44306 },
  'tls13-hello-retry.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44307 },
  'tls12-ipv6.pcap': { format: 'pcap', linkType: 1, ipVersion: 6, serverPort: 44308 },
  'tls-sll-any.pcap': { format: 'pcap', linkType: 276, ipVersion: 4, serverPort: 44309 },
  'tls-sll1-any.pcap': { format: 'pcap', linkType: 113, ipVersion: 4, serverPort: 44310 },
  'tls12-nanosecond.pcap': { format: 'pcap-ns', linkType: 1, ipVersion: 4, serverPort: 44311 },
  'nginx-curl-resume.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44312 },
  'nginx-session-timeout.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44313 },
  'nginx-cache-capacity.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44314 },
  'nginx-lb-no-shared-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44315 },
  'nginx-cache-flush.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44318 },
  'nginx-tls13-idle.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44319 },
  'chromium-nginx-resume.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44320 },
  'chromium-nginx-tls13.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44321 },
  'chromium-nginx-hrr.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44322 },
  'nginx-ticket-key-rotation.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44323 },
  'nginx-ticket-key-before-capture.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44364 },
  'gnutls-ticket-key-before-capture.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44365 },
  'nginx-tls13-ticket-key-before-capture.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44366 },
  'tls12-alert-purge.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44324 },
  'haproxy-purge-fifo-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44382 },
  'chromium-nginx-mtu1500.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44325 },
  'nginx-tls13-early-data.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44326 },
  'nginx-two-addresses-own-caches.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44327, serverAddresses: ['127.0.0.2', '127.0.0.3'] },
  'nginx-two-addresses-shared-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44328, serverAddresses: ['127.0.0.2', '127.0.0.3'] },
  'chromium-nginx-session-id.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44329 },
  'nginx-tls13-two-stacks.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44330 },
  'nginx-two-workers-builtin-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44331 },
  'tls12-client-forgets.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44332 },
  'chromium-nginx-parallel-rtt.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44334 },
  'tls12-never-offers.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44335 },
  'chromium-nginx-parallel-rtt-server.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44437 },
  'chromium-lb-no-shared-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44341 },
  'chromium-lb-tickets.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44342 },
  'chromium-lb-tls13.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44343 },
  'chromium-nginx-timeout.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44344 },
  'chromium-nginx-new-visitor.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44362 },
  'nginx-cache-none.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44345 },
  'tls12-tickets-never-accepted.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44346 },
  'tls12-ticket-key-restart-at-end.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44367 },
  'tls13-client-rejects-certificate.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44368 },
  'chromium-rejects-certificate.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44369 },
  'tls-version-change.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44371 },
  'haproxy-verify-required.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44372 },
  'chromium-tls13-rollout.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44378, serverAddresses: ['127.0.0.2', '127.0.0.3'] },
  'haproxy-tls13-rollout.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44374, serverAddresses: ['127.0.0.2', '127.0.0.3'] },
  'tls13-server-rejects-client-certificate.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44370 },
  'nginx-cache-off.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44347 },
  'nginx-tls13-tickets-off.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44348 },
  'tls13-no-tickets.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44349 },
  'nginx-tls13-ticket-reuse.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44351 },
  'java-lru-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44352 },
  'nginx-fifo-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44353 },
  'haproxy-fifo-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44354 },
  'vxlan-session-id-resume.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44355, serverAddresses: ['192.168.77.2'] },
  'vxlan-fragmented.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44360, serverAddresses: ['192.168.77.2'] },
  'nginx-curl-tcp-fast-open.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44356 },
  'haproxy-proxy-protocol.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44457 },
  'haproxy-proxy-protocol-v1.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44458 },
  'haproxy-proxy-protocol-checks.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44459 },
  'postfix-starttls-session-cache.pcap': { format: 'pcap', linkType: 1, ipVersion: 4, serverPort: 44361 },
};

/**
 * The one-line outcome used in PROVENANCE.md's per-connection tables, derived
 * from the facts so the document and the table cannot drift apart.
 */
export function outcomeLabel(c: ExpectedConnection): string {
  let s: string;
  if (c.resumed) s = `resumed by ${c.resumedBy}`;
  else if (c.offered) s = 'offer rejected, full handshake';
  else s = 'full handshake';
  if (c.helloRetry) s = `HelloRetryRequest, ${s}`;
  if (c.healthCheck) s = `health check (LOCAL): ${s}`;
  if (c.clientGaveUp) s += `, then the client's ${c.clientGaveUp === 'clear' ? 'fatal alert in clear' : 'encrypted alert'}`;
  if (c.serverRefused) s += `, refused by the server after the client's Finished (${c.serverRefused === 'clear' ? 'fatal alert in clear' : 'encrypted alert'})`;
  if (c.rstBy === 'either') s += ', then RST by either side';
  else if (c.rstBy) s += `, then RST by ${c.rstBy}`;
  return s;
}
