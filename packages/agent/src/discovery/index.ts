/** LAN discovery: the mDNS/DNS-SD announcer the agent runs and the browser `bulwark discover` uses. */
export { MdnsAnnouncer, type MdnsAnnouncerOptions } from './announcer.js';
export { discoverDevices, type DiscoverOptions, type DiscoveredDevice } from './browse.js';
export { SERVICE_TYPE, type ServiceInfo } from './records.js';
