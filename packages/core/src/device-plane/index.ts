/** The device plane behind its link port (decision 0015). */
export {
  type DeviceLink,
  type DeviceOutbound,
  type DevicePlaneInbound,
  type DevicePlaneLog,
  type DeviceSession,
  type SessionEnd,
} from './link.js';
export { DevicePlane, type DevicePlaneDeps } from './device-plane.js';
