/** The device's local management port: TLS, a line protocol, one-time access tickets. */
export { LocalPortServer, DEFAULT_LOCAL_PORT, type LocalPortOptions } from './server.js';
export { DEFAULT_LOCAL_PORT_LIMITS, LocalSession, type LocalPortLimits } from './session.js';
export { verifyTicket, TicketRefusal, type TicketCheck, type TicketRefusalCode } from './ticket.js';
export { UsedTickets, USED_TICKETS_FILE } from './used-tickets.js';
export { openSerial, type SerialLink } from './serial.js';
export { dialRelay, RELAY_PROTOCOL, type RelayDial } from './relay-dial.js';
