import { describe, expect, it } from 'vitest';
import { sessionKey } from '../../parser/session/session-keys.js';
import { ServerGroup, ticketKeyNameOf } from '../../parser/session/session-table.js';

// RFC 5077 §4: a ticket begins with the 16-byte name of the key that sealed it (OpenSSL, GnuTLS).
const NAME_A = '4d4485875cae40829b5674110f4b8a2d';
const NAME_B = '7da1de10ef8a085dc4c1ec58e503f3d7';
const ticket = (name: string, rest: number) => sessionKey('ticket', name + rest.toString(16).padStart(32, '0'));

describe('ticket key names', () => {
  it('are the first 16 bytes of a ticket or PSK identity, none for session IDs or values that are not hex', () => {
    const name = ticketKeyNameOf(ticket(NAME_A, 1));
    expect(name).toHaveLength(16);
    expect(name).toBe(ticketKeyNameOf(ticket(NAME_A, 2)));
    expect(name).not.toBe(ticketKeyNameOf(ticket(NAME_B, 1)));
    expect(ticketKeyNameOf(sessionKey('psk', NAME_A + '00'))).toBe(name);
    expect(ticketKeyNameOf(sessionKey('session-id', NAME_A + NAME_B))).toBeNull();
    expect(ticketKeyNameOf(sessionKey('ticket', 'XYZ' + NAME_A))).toBeNull();
    // 16 bytes and nothing after them: too short to tell a name from the ticket.
    expect(ticketKeyNameOf(sessionKey('ticket', NAME_A))).toBeNull();
  });

  it('a group names its keys from 8 tickets on, with at most one name for every 4', () => {
    const group = new ServerGroup('g', 'g', 443, 0);
    for (let i = 0; i < 7; i++) group.noteTicketKey(ticket(NAME_A, i));
    expect(group.namesTicketKeys()).toBe(false);
    group.noteTicketKey(ticket(NAME_B, 7));
    expect(group.namesTicketKeys()).toBe(true);
    expect([...group.ticketKeyNames.values()]).toEqual([7, 1]);
    // Session IDs are not counted.
    group.noteTicketKey(sessionKey('session-id', NAME_A + NAME_B));
    expect(group.ticketsNamed).toBe(8);
    // Random first bytes: a name per ticket.
    const random = new ServerGroup('r', 'r', 443, 1);
    for (let i = 0; i < 40; i++) random.noteTicketKey(ticket(i.toString(16).padStart(2, '0').repeat(16), i));
    expect(random.namesTicketKeys()).toBe(false);
    const three = new ServerGroup('t', 't', 443, 2);
    for (let i = 0; i < 8; i++) three.noteTicketKey(ticket([NAME_A, NAME_B, NAME_A.slice(2) + 'ff'][i % 3]!, i));
    expect(three.namesTicketKeys()).toBe(false);
  });
});
