import { Fragment, useMemo, useState } from 'react';
import type { ServerSummary } from '../../../../parser/diagnose/types.js';
import { formatCount, formatDuration, formatPercent } from '../data/format.js';
import { reasonLabel } from '../data/labels.js';
import { resumptionRate } from '../../../../parser/report/document.js';
import { EmptyState, Section, useView } from './common.js';

export function ServersView() {
  const { model } = useView();
  const [open, setOpen] = useState<string | null>(model.servers[0]?.group ?? null);
  // null: the analysis's own order (most rejections first); a header click sorts by its column.
  const [sort, setSort] = useState<{ key: ServerSortKey; descending: boolean } | null>(null);
  const toggleSort = (key: ServerSortKey) => setSort((old) => ({ key, descending: old?.key === key ? !old.descending : key !== 'group' }));
  const servers = useMemo(() => {
    if (sort === null) return model.servers;
    const value = SORTABLE.find((c) => c.key === sort.key)!.value;
    const sign = sort.descending ? -1 : 1;
    return [...model.servers].sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      return sign * (typeof x === 'string' ? x.localeCompare(String(y)) : x - Number(y));
    });
  }, [model.servers, sort]);
  if (model.servers.length === 0) return <div className="view" data-testid="view-servers"><EmptyState title="No servers" /></div>;
  return (
    <div className="view" data-testid="view-servers">
      <Section title="Server groups and backends">
        <p className="muted small">A group is one service (SNI and port, or address and port without SNI); it may hide several backends. "Cross-backend" offers are sessions offered to another address than the one that issued them.</p>
        <div className="table-scroll">
          <table className="plain servers" data-testid="servers-table">
            <thead>
              <tr>
                {SORTABLE.map((c) => (
                  <th key={c.key} className={c.key === 'group' ? undefined : 'num'} aria-sort={sort?.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
                    <button type="button" className="th-sort" data-testid={`servers-sort-${c.key}`} onClick={() => toggleSort(c.key)}>
                      {c.label}{sort?.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                    </button>
                  </th>
                ))}
                <th className="num">Cross-backend</th><th>Policy</th><th title="Rejected offers by cause, and reconnections whose client forgot a session the server would have resumed">Why resumption failed</th>
              </tr>
            </thead>
            <tbody>
              {servers.map((s) => (
                <Fragment key={s.group}>
                  <tr className={open === s.group ? 'selected' : ''}>
                    <td>
                      <button type="button" className="link disclosure" aria-expanded={open === s.group} onClick={() => setOpen(open === s.group ? null : s.group)}>
                        {open === s.group ? '▾' : '▸'} {s.group}
                      </button>
                    </td>
                    <td className="num">{s.addresses.length}</td>
                    <td className="num">{formatCount(s.connections)}</td>
                    <td className="num">{formatCount(s.offers)}</td>
                    <td className="num">{formatCount(s.accepted)}</td>
                    <td className="num">{formatCount(s.rejected)}</td>
                    <td className="num" title={s.tls13CompatibilityIds > 0 ? `without ${formatCount(s.tls13CompatibilityIds)} TLS 1.3 random session ID${s.tls13CompatibilityIds === 1 ? '' : 's'} (most likely no offer)` : undefined}>
                      {formatPercent(resumptionRate(s.accepted, s.rejected, s.tls13CompatibilityIds), 0)}
                    </td>
                    <td className="num">{s.cachePolicy.sharedCache.crossAddressOffers > 0 ? `${formatCount(s.cachePolicy.sharedCache.crossAddressRejected)} / ${formatCount(s.cachePolicy.sharedCache.crossAddressOffers)} rejected` : '—'}</td>
                    <td>{policySummary(s)}</td>
                    <td><ReasonBar server={s} /></td>
                  </tr>
                  {open === s.group ? (
                    <tr className="expansion">
                      <td colSpan={10}><Addresses server={s} /></td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </div>
  );
}

type ServerSortKey = 'group' | 'addresses' | 'connections' | 'offers' | 'accepted' | 'rejected' | 'rate';

/** The columns a click sorts by (numbers start with the largest). */
const SORTABLE: { key: ServerSortKey; label: string; value(s: ServerSummary): number | string }[] = [
  { key: 'group', label: 'Group', value: (s) => s.group },
  { key: 'addresses', label: 'Addresses', value: (s) => s.addresses.length },
  { key: 'connections', label: 'Connections', value: (s) => s.connections },
  { key: 'offers', label: 'Offers', value: (s) => s.offers },
  { key: 'accepted', label: 'Accepted', value: (s) => s.accepted },
  { key: 'rejected', label: 'Rejected', value: (s) => s.rejected },
  // No answered offer: below every rate.
  { key: 'rate', label: 'Rate', value: (s) => resumptionRate(s.accepted, s.rejected, s.tls13CompatibilityIds) ?? -1 },
];

function policySummary(s: ServerSummary): string {
  const p = s.cachePolicy;
  const parts: string[] = [];
  if (p.idleTimeout.seconds !== null) parts.push(`idle ${formatDuration(p.idleTimeout.seconds)}`);
  if (p.lifetime.seconds !== null) parts.push(`lifetime ${formatDuration(p.lifetime.seconds)}`);
  if (p.capacity.entries !== null) parts.push(`${formatCount(p.capacity.entries)} entries${p.capacity.eviction === 'lru' ? ' (LRU)' : p.capacity.eviction === 'partitioned' ? ' (in parts)' : ''}`);
  if (p.purgeOnAbort.detected) parts.push('purges on abort');
  if (p.sharedCache.shared === false) parts.push(`no shared cache${p.sharedCache.backends ? ` (~${p.sharedCache.backends})` : ''}`);
  if (p.flushes.length > 0) parts.push(`${p.flushes.length} flush${p.flushes.length > 1 ? 'es' : ''}`);
  if (p.keepsNoSessions?.detected) parts.push('keeps no sessions');
  if (p.issuesNoSessions?.detected) parts.push('issues no sessions');
  if (p.tls13TicketsUnseen?.detected) parts.push('no TLS 1.3 ticket offered');
  return parts.length > 0 ? parts.join(', ') : s.offers > 0 ? 'no limit seen' : '—';
}

function ReasonBar({ server }: { server: ServerSummary }) {
  const entries = Object.entries(server.reasons).filter(([, n]) => (n ?? 0) > 0).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  if (entries.length === 0) return <span className="muted">—</span>;
  return <span>{entries.map(([r, n]) => `${reasonLabel(r)} ${formatCount(n ?? 0)}`).join(' · ')}</span>;
}

/** The versions an address answered with, newest first ("TLS 1.3 61 · TLS 1.2 4"); documents from before the count have none. */
function versionsText(versions: Record<string, number> | undefined): string {
  return Object.entries(versions ?? {}).sort((a, b) => b[0].localeCompare(a[0])).map(([v, n]) => `${v} ${formatCount(n)}`).join(' · ');
}

function Addresses({ server }: { server: ServerSummary }) {
  const { showConnections } = useView();
  const max = Math.max(1, ...server.addresses.map((a) => a.connections));
  // Addresses that answered nothing with TLS 1.3 where others of the group did (a backend left behind in a rollout).
  const groupSpeaksTls13 = server.addresses.some((a) => (a.versions?.['TLS 1.3'] ?? 0) > 0);
  const lacking = (a: ServerSummary['addresses'][number]) => groupSpeaksTls13 && a.versions !== undefined && Object.keys(a.versions).length > 0 && !('TLS 1.3' in a.versions);
  return (
    <div className="addresses">
      <p className="small muted">Addresses of {server.group} ({server.sni ? `SNI ${server.sni}` : 'no SNI'}, port {server.port}) — {formatCount(server.sessionsIssued)} sessions issued</p>
      <table className="plain">
        <tbody>
          {server.addresses.map((a) => (
            <tr key={a.address}>
              <td className="mono">
                <button type="button" className="link" onClick={() => showConnections({ server: a.address })}>{a.address}</button>
              </td>
              <td className="num">{formatCount(a.connections)}</td>
              <td className="bar-cell"><span className="hbar" style={{ width: `${(100 * a.connections) / max}%` }} /></td>
              <td className={`small address-versions ${lacking(a) ? 'version-lacking' : 'muted'}`} data-testid="address-versions"
                title={lacking(a) ? 'this address answered no connection with TLS 1.3, where others of the group did: if it does not speak it, TLS 1.3 sessions offered there cannot be resumed' : 'connections by negotiated TLS version'}>
                {versionsText(a.versions)}{lacking(a) ? ' — no TLS 1.3' : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="button" onClick={() => showConnections({ server: server.group })}>Show connections of this group</button>
    </div>
  );
}
