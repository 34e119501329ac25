// Where the connection table gets its rows: the analysis worker (the app: every connection stays in
// the worker, pages cross on demand) or an in-memory list (the HTML report's capped list).
import { buildClientSequence, type ClientStep } from '../../../../parser/report/report-model.js';
import { clientAddress, type ConnectionRecord } from '../../../../parser/report/types.js';
import { queryConnections, rowOf, type ConnectionFilter, type ConnectionRow, type ConnectionSort } from './connection-query.js';

export interface QueryResult {
  queryId: number;
  count: number;
}

export interface ConnectionStore {
  /** Connections the store holds (the report holds a capped subset). */
  readonly total: number;
  query(filter: ConnectionFilter, sort: ConnectionSort): Promise<QueryResult>;
  rows(queryId: number, start: number, end: number): Promise<ConnectionRow[]>;
  connection(id: number): Promise<ConnectionRecord | null>;
  clientSequence(ip: string): Promise<ClientStep[]>;
}

/** The store over an array in this thread; the worker wraps one of these too. */
export class LocalConnectionStore implements ConnectionStore {
  private readonly results = new Map<number, Int32Array>();
  private nextQueryId = 1;
  private readonly byId = new Map<number, number>();

  constructor(private readonly connections: readonly ConnectionRecord[]) {
    connections.forEach((c, i) => this.byId.set(c.id, i));
  }

  get total(): number {
    return this.connections.length;
  }

  async query(filter: ConnectionFilter, sort: ConnectionSort): Promise<QueryResult> {
    return this.querySync(filter, sort);
  }

  querySync(filter: ConnectionFilter, sort: ConnectionSort): QueryResult {
    const queryId = this.nextQueryId++;
    // Only the latest few results are paged; older tables are gone from the screen.
    for (const old of this.results.keys()) if (old < queryId - 4) this.results.delete(old);
    const order = queryConnections(this.connections, filter, sort);
    this.results.set(queryId, order);
    return { queryId, count: order.length };
  }

  async rows(queryId: number, start: number, end: number): Promise<ConnectionRow[]> {
    return this.rowsSync(queryId, start, end);
  }

  rowsSync(queryId: number, start: number, end: number): ConnectionRow[] {
    const order = this.results.get(queryId);
    if (!order) return [];
    const out: ConnectionRow[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, order.length); i++) out.push(rowOf(this.connections[order[i]!]!));
    return out;
  }

  async connection(id: number): Promise<ConnectionRecord | null> {
    return this.connectionSync(id);
  }

  connectionSync(id: number): ConnectionRecord | null {
    const index = this.byId.get(id);
    return index === undefined ? null : this.connections[index]!;
  }

  async clientSequence(ip: string): Promise<ClientStep[]> {
    return this.clientSequenceSync(ip);
  }

  clientSequenceSync(ip: string): ClientStep[] {
    return buildClientSequence(this.connections.filter((c) => clientAddress(c) === ip));
  }
}
