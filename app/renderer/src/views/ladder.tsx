// The handshake ladder: the messages of ssl_history with their directions, and the times the
// record knows (first packet, ClientHello, ServerHello, abort, end). Messages without their own
// timestamp sit in order between the known ones.
import type { ConnectionRecord } from '../../../../parser/report/types.js';
import { abortEnding } from '../../../../parser/report/abort-ending.js';
import { formatDelta, formatTime } from '../data/format.js';
import { alertText, HISTORY_MESSAGE, STAGE_LABEL, historyLegend } from '../data/labels.js';

interface Step {
  direction: 'right' | 'left' | 'none';
  label: string;
  time: number | null;
  note?: string;
  kind: 'tcp' | 'tls' | 'reset' | 'end';
}

export function ladderSteps(c: ConnectionRecord): Step[] {
  const steps: Step[] = [{ direction: 'right', label: 'TCP connection opened (first packet)', time: c.startTime, kind: 'tcp' }];
  let clientHelloSeen = false;
  let serverHelloSeen = false;
  // The record lists alerts in the order its history shows them (both capped: up to 8 are listed).
  let alertIndex = 0;
  for (const letter of c.history) {
    const fromClient = letter !== letter.toLowerCase();
    const lower = letter.toLowerCase();
    const name = HISTORY_MESSAGE[lower] ?? `message "${letter}"`;
    let time: number | null = null;
    if (lower === 'c' && !clientHelloSeen) { time = c.clientHelloTime; clientHelloSeen = true; }
    if (lower === 's' && !serverHelloSeen) { time = c.serverHelloTime; serverHelloSeen = true; }
    let note: string | undefined;
    if (lower === 'c' && time !== null) note = offerNote(c);
    if (lower === 's' && time !== null) note = c.resumption === 'accepted' ? `accepts the offer (${c.resumedBy ?? 'resumed'})` : c.resumption === 'rejected' ? 'rejects the offer: full handshake' : undefined;
    if (lower === 'l') {
      const alert = c.alerts[alertIndex++];
      if (alert !== undefined && (alert.by === 'client') === fromClient) {
        time = alert.time;
        note = alertText(alert);
      }
    }
    steps.push({ direction: fromClient ? 'right' : 'left', label: name, time, note, kind: 'tls' });
  }
  if (c.abort) {
    steps.push({
      // After a fatal alert, `by` is the alert's sender, not the side that closed first: no arrow.
      direction: abortEnding(c) === 'alert' ? 'none' : c.abort.by === 'client' ? 'right' : 'left', kind: 'reset', time: c.abort.time,
      label: c.abort.how === 'rst' ? 'RST' : 'FIN',
      note: abortEnding(c) === 'alert'
        ? `the first close after the ${c.abort.by}'s fatal alert, which ended the handshake ${STAGE_LABEL[c.abort.stage] ?? c.abort.stage} (frame ${c.abort.frame})`
        : `${c.abort.by} ended the handshake ${STAGE_LABEL[c.abort.stage] ?? c.abort.stage} (frame ${c.abort.frame})`,
    });
  }
  steps.push({ direction: 'none', label: c.handshake === 'complete' ? 'handshake complete; last packet' : `last packet (${c.handshake})`, time: c.endTime, kind: 'end' });
  return steps;
}

function offerNote(c: ConnectionRecord): string {
  const offers: string[] = [];
  // A session ID the record does not count as an offer is TLS 1.3's compatibility value (RFC 8446
  // §4.1.2), or a TLS 1.2 session's that TLS 1.3 does not resume (reason version-change).
  if (c.offer.sessionId && c.resumption === 'not-offered') {
    const id = `${c.offer.sessionId.slice(0, 16)}…`;
    return c.reason === 'version-change'
      ? `offers nothing TLS 1.3 resumes: its legacy session ID ${id} is a TLS 1.2 session's`
      : `offers nothing to resume (session ID ${id}: TLS 1.3's compatibility value)`;
  }
  if (c.offer.sessionId) offers.push(`session ID ${c.offer.sessionId.slice(0, 16)}…`);
  if (c.offer.ticket) offers.push('session ticket');
  if (c.offer.psk) offers.push('PSK identity');
  return offers.length > 0 ? `offers ${offers.join(' + ')}` : 'offers nothing to resume';
}

export function HandshakeLadder({ connection }: { connection: ConnectionRecord }) {
  const steps = ladderSteps(connection);
  return (
    <figure className="ladder" data-testid="ladder" aria-label="Handshake ladder">
      <div className="ladder-ends">
        <span>Client<br /><span className="mono">{connection.client.ip}:{connection.client.port}</span>
          {connection.proxiedClient ? <><br /><span className="small muted" data-testid="proxied-client">a load balancer, for <span className="mono">{connection.proxiedClient.ip}:{connection.proxiedClient.port}</span> (PROXY header)</span></> : null}
          {connection.proxyHeader === 'local' ? <><br /><span className="small muted" data-testid="balancer-own">the load balancer's own connection (PROXY LOCAL header: a health check)</span></> : null}
        </span>
        <span>Server<br /><span className="mono">{connection.server.ip}:{connection.server.port}</span></span>
      </div>
      <ol className="ladder-steps">
        {steps.map((s, i) => (
          <li key={i} className={`ladder-step ${s.direction} ${s.kind}`} data-testid="ladder-step">
            <span className="ladder-time mono">{s.time === null ? '' : `+${formatDelta(s.time - connection.startTime)}`}</span>
            <span className="ladder-line">
              <span className="ladder-label">{s.label}</span>
              {s.direction !== 'none' ? <span className="ladder-arrow" aria-label={s.direction === 'right' ? 'client to server' : 'server to client'} /> : null}
              {s.note ? <span className="ladder-note">{s.note}</span> : null}
            </span>
          </li>
        ))}
      </ol>
      <figcaption className="small muted">
        Times relative to the first packet ({formatTime(connection.startTime)} UTC). Encrypted messages (TLS 1.3, Finished) are not visible.
        {connection.history !== '' ? <> Message history <code>{connection.history}</code> (Zeek's ssl_history letters, in order: {historyLegend(connection.history)}).</> : null}
      </figcaption>
    </figure>
  );
}
